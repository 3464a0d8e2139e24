/**
 * The port manager: the thin composition that reads (registry, kernel,
 * processes), plans (src/core/planner.ts) and applies (one transaction), then
 * confirms every newly leased port with one real bind. This file is its
 * surface and wiring; assigning lives in src/compose/assign.ts, the project
 * every step works on in src/compose/project.ts.
 */
import type { UserConfig } from '../config/define.js';
import { loadConfig, resolveConfig } from '../config/load.js';
import type { ConfigProblem } from '../config/problems.js';
import { type PortsData, portsData } from '../core/endpoints.js';
import { leaseEvent } from '../core/registry.js';
import { DEFAULT_ENVIRONMENT, type Lease, type LeaseOwner, type ResolvedConfig } from '../core/types.js';
import { type AssignOptions, type AssignResult, assignServices, type ServicePort } from './assign.js';
import { type AdapterOptions, type Adapters, openAdapters } from './context.js';
import { type LeaseView, leaseViews, staleness } from './lease-views.js';
import { checkServiceNames, type Project, projectOf } from './project.js';

export type { AssignOptions, AssignResult, ServicePort } from './assign.js';
export type { LeaseView } from './lease-views.js';

/** Options of {@link createPortManager}. */
export interface PortManagerOptions extends AdapterOptions {
  /** Folder to find the config from (upward) and the project's folder; default `process.cwd()`. */
  cwd?: string;
  /** A config object instead of a file (its folder is `cwd`). */
  config?: UserConfig;
  /** Path of the config file; default: found from `cwd` upward. */
  configFile?: string;
  /** Environment; default `$BERTH_ENV` or `development`. */
  environment?: string | undefined;
  /** Told each warning the config raises (a key that does nothing, a risky port); default: ignored. */
  onWarning?: (warning: ConfigProblem) => void;
}

/** The library's main object. */
export interface PortManager {
  readonly config: ResolvedConfig;
  readonly adapters: Adapters;
  /** Assigns every service of the project. */
  assignAll(options?: AssignOptions): Promise<AssignResult>;
  /** Assigns some services (their inheritance chains come along). */
  assignServices(services: readonly string[], options?: AssignOptions): Promise<AssignResult>;
  /** Assigns one service and returns its port. */
  assign(service: string, options?: AssignOptions): Promise<ServicePort>;
  /** The seed's `GET /api/ports` data for this project and environment (leased services only). */
  ports(): PortsData;
  /** This project's leases (this checkout and environment) with their states. */
  leases(): LeaseView[];
  /** Releases services (and the services inheriting from them). Returns the released leases. */
  release(...services: string[]): Promise<Lease[]>;
  /** Releases every lease of this project, checkout and environment. */
  releaseAll(): Promise<Lease[]>;
  /** Re-points leases at a new owner (e.g. `berth run`'s child). */
  setOwner(services: readonly string[], owner: LeaseOwner | null, ttlMs?: number | null): Promise<void>;
  close(): void;
}

/** The environment a call works in: the one it names, else `BERTH_ENV`, else {@link DEFAULT_ENVIRONMENT}. */
export function environmentName(named?: string): string {
  return named ?? process.env.BERTH_ENV ?? DEFAULT_ENVIRONMENT;
}

/**
 * Loads the config, opens the registry and returns a port manager.
 *
 * @example
 * const pm = await createPortManager({ cwd: process.cwd() });
 * const { services } = await pm.assignAll();
 * console.log(services.server.port);
 * pm.close();
 */
export async function createPortManager(options: PortManagerOptions = {}): Promise<PortManager> {
  const cwd = options.cwd ?? process.cwd();
  const environment = environmentName(options.environment);
  const { config, warnings } = options.config
    ? resolveConfig(options.config, { cwd, environment })
    : await loadConfig({ cwd, environment, ...(options.configFile ? { file: options.configFile } : {}) });
  for (const warning of warnings) options.onWarning?.(warning);
  // The config may name the registry (etcd); BERTH_REGISTRY wins over it.
  return createManagerFor(
    config,
    await openAdapters({ ...options, registry: options.registry ?? config.registry }),
  );
}

/**
 * A port manager for an already resolved config (the CLI and the daemon use this).
 *
 * @example
 * const pm = createManagerFor(config, createAdapters());
 */
export function createManagerFor(config: ResolvedConfig, adapters: Adapters): PortManager {
  const project = projectOf(config, adapters);
  return {
    config,
    adapters,
    assignAll: (opts) =>
      assignServices(
        project,
        config.services.map((s) => s.name),
        opts,
      ),
    assignServices: (names, opts) => assignServices(project, names, opts),
    assign: async (service, opts) => (await assignServices(project, [service], opts)).services[service]!,
    ports: () => portsOf(project),
    leases: () => leasesOf(project),
    release: (...services) => release(project, services),
    releaseAll: () => release(project, null),
    setOwner: (services, owner, ttlMs = null) => setOwner(project, services, owner, ttlMs),
    close: () => adapters.registry.close(),
  };
}

/** The seed's `GET /api/ports` data from the project's live leases. */
function portsOf({ config, scope, adapters }: Project): PortsData {
  const ports = new Map<string, number>();
  for (const lease of adapters.registry.scopeLeases(scope)) {
    if (staleness(lease, adapters.now(), adapters.processes) === null) ports.set(lease.service, lease.port);
  }
  return portsData(config.services, ports, config.environment);
}

/** The project's leases with their states, in declaration order (services no longer in the config last). */
function leasesOf({ config, scope, adapters }: Project): LeaseView[] {
  const order = new Map(config.services.map((s, i) => [s.name, i]));
  const rank = (l: Lease) => order.get(l.service) ?? order.size;
  return leaseViews(
    adapters,
    adapters.registry.scopeLeases(scope).sort((a, b) => rank(a) - rank(b) || a.port - b.port),
  );
}

/**
 * Releases the named services (every lease of the project with `null`), the
 * services inheriting their ports with them, each with a `released` event.
 */
async function release(
  { config, scope, adapters }: Project,
  names: readonly string[] | null,
): Promise<Lease[]> {
  const { registry } = adapters;
  // A service removed from the config can still be released while it holds a lease.
  const leased = new Set(registry.scopeLeases(scope).map((l) => l.service));
  if (names)
    checkServiceNames(
      config,
      names.filter((n) => !leased.has(n)),
    );
  return registry.transaction(
    (tx) => {
      const removed: Lease[] = [];
      const now = adapters.now();
      const leases = tx.scopeLeases(scope);
      const wanted = names ? new Set(names) : null;
      for (const lease of leases) {
        if (wanted && !wanted.has(lease.service)) continue;
        if (removed.some((r) => r.id === lease.id)) continue;
        tx.remove(lease.id, 'released');
        removed.push(lease);
        if (lease.inheritsFrom === null) {
          removed.push(
            ...leases.filter((l) => l.inheritsFrom !== null && l.port === lease.port && l.id !== lease.id),
          );
        }
        tx.recordEvent(leaseEvent(lease, 'released', now, 'released'));
      }
      return removed;
    },
    { reclaim: false },
  );
}

/** Re-points the services' leases at `owner`, with a new lifetime. */
async function setOwner(
  { config, scope, adapters }: Project,
  services: readonly string[],
  owner: LeaseOwner | null,
  ttlMs: number | null,
): Promise<void> {
  checkServiceNames(config, services);
  await adapters.registry.transaction(
    (tx) => {
      const expiresAt = ttlMs ? adapters.now() + ttlMs : null;
      for (const lease of tx.scopeLeases(scope)) {
        if (services.includes(lease.service)) tx.setOwner(lease.id, owner, expiresAt);
      }
    },
    { reclaim: false },
  );
}
