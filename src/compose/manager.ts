/**
 * The port manager: the thin composition that reads (registry, kernel,
 * processes), plans (src/core/planner.ts) and applies (one transaction), then
 * confirms every newly leased port with one real bind.
 */
import type { UserConfig } from '../config/define.js';
import { loadConfig, resolveConfig } from '../config/load.js';
import { type PortsData, portsData, schemeOf, serviceUrl } from '../core/endpoints.js';
import { planPorts } from '../core/planner.js';
import { basePolicy, type PortPolicy } from '../core/policy.js';
import { leaseEvent, type RegistryTx, type Scope } from '../core/registry.js';
import type {
  Decision,
  Lease,
  LeaseOwner,
  LeaseState,
  Plan,
  ResolvedConfig,
  Strategy,
} from '../core/types.js';
import { BerthError } from '../errors.js';
import { type AdapterOptions, type Adapters, openAdapters } from './context.js';
import { foreignHolders } from './foreign.js';
import { leaseState, staleness, TxSnapshot } from './snapshot.js';

/** Options of {@link createPortManager}. */
export interface PortManagerOptions extends AdapterOptions {
  /** Folder to find the config from (upward) and the project's folder; default `process.cwd()`. */
  cwd?: string;
  /** A config object instead of a file (its folder is `cwd`). */
  config?: UserConfig;
  /** Path of the config file; default: found from `cwd` upward. */
  configFile?: string;
  /** Environment; default `$BERTH_ENV` or `development`. */
  environment?: string;
}

/** Options of one assignment. */
export interface AssignOptions {
  /** Overrides the config's strategy for this call. */
  strategy?: Strategy;
  /** Ties the leases to this process (released when it dies); default: none, the lease lives until released. */
  owner?: LeaseOwner | null;
  /** Lease lifetime in milliseconds; default: no expiry. */
  ttlMs?: number | null;
}

/** One service's port in an assignment result. */
export interface ServicePort {
  port: number;
  strategy: Decision['strategy'];
  url: string;
}

/** What `assignAll()` / `berth assign --json` returns. */
export interface AssignResult {
  project: string;
  environment: string;
  services: Record<string, ServicePort>;
  decisions: Decision[];
}

/** A lease with its live state, for listings. */
export type LeaseView = Lease & LeaseState;

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
  const environment = options.environment ?? process.env.BERTH_ENV ?? 'development';
  const config = options.config
    ? resolveConfig(options.config, { cwd, environment }).config
    : (await loadConfig({ cwd, environment, ...(options.configFile ? { file: options.configFile } : {}) }))
        .config;
  // The config may name the registry (etcd); BERTH_REGISTRY wins over it.
  return createManagerFor(
    config,
    await openAdapters({ ...options, registry: options.registry ?? config.registry }),
  );
}

/** A port manager for an already resolved config (the CLI and the daemon use this). */
export function createManagerFor(config: ResolvedConfig, adapters: Adapters): PortManager {
  const scope: Scope = { dir: config.dir, environment: config.environment };
  const specs = new Map(config.services.map((s) => [s.name, s]));
  const { registry, kernel, probe, processes } = adapters;

  const policy = (): PortPolicy => {
    const excluded = [...kernel.excludedRanges(), ...config.exclude.map((p) => ({ min: p, max: p }))];
    return basePolicy({ ephemeral: kernel.ephemeralRange(), excluded });
  };

  const checkNames = (names: readonly string[]) => {
    for (const name of names) {
      if (!specs.has(name)) {
        throw new BerthError(
          'E_UNKNOWN_SERVICE',
          `unknown service "${name}" in ${config.project}. Known services: ${[...specs.keys()].join(', ')}.`,
          { data: { service: name } },
        );
      }
    }
  };

  /**
   * One allocating transaction: plan, apply. Returns the plan and the ports to confirm.
   * The batch it runs in has already reclaimed stale leases (src/compose/reclaim.ts).
   */
  const allocateOnce = (
    tx: RegistryTx,
    targets: readonly string[],
    opts: AssignOptions,
    busy: Set<number>,
    listening: ReadonlySet<number> | null,
    foreignHeld: ReadonlyMap<number, string>,
  ) => {
    const now = adapters.now();
    const snapshot = new TxSnapshot(tx, listening, busy);
    const leases = tx.scopeLeases(scope);
    const plan: Plan = planPorts({
      services: config.services,
      targets,
      strategy: opts.strategy ?? config.strategy,
      autoReassign: config.autoReassign,
      scope,
      leases,
      history: tx.history(scope),
      foreignHeld,
      occupancy: snapshot,
      policy: policy(),
      avoid: busy,
    });
    return { plan, toConfirm: applyPlan(tx, plan, leases, opts, now) };
  };

  const applyPlan = (tx: RegistryTx, plan: Plan, leases: Lease[], opts: AssignOptions, now: number) => {
    const mine = new Map(leases.map((l) => [l.service, l]));
    const owner = opts.owner ?? null;
    const expiresAt = opts.ttlMs ? now + opts.ttlMs : null;
    const retie = opts.owner !== undefined || opts.ttlMs !== undefined;
    const event = (type: 'assigned' | 'moved', service: string, port: number, fromPort: number | null) => {
      const detail = plan.decisions.find((d) => d.service === service)?.message ?? '';
      tx.recordEvent(
        leaseEvent({ project: config.project, ...scope, service, port }, type, now, detail, fromPort),
      );
    };
    const roots = plan.assignments.filter((a) => a.inheritsFrom === null);
    const moving = roots.flatMap((a) => {
      const lease = mine.get(a.service);
      return lease && lease.port !== a.port ? [{ a, lease }] : [];
    });
    // Remove every moving lease before inserting anything: a loser's old port may be its winner's new one,
    // and the UNIQUE port index must hold at every statement.
    for (const { lease } of moving) tx.remove(lease.id, 'released');
    const toConfirm: number[] = [];
    for (const a of roots) {
      const lease = mine.get(a.service);
      if (lease && lease.port === a.port) {
        if (retie) tx.setOwner(lease.id, owner, expiresAt);
        continue;
      }
      tx.insert(newLease(a.service, a.port, null, owner, now, expiresAt));
      event(lease ? 'moved' : 'assigned', a.service, a.port, lease?.port ?? null);
      toConfirm.push(a.port);
    }
    // Inheriting rows follow their root (removing a root removed its inheritors).
    const current = new Map(tx.scopeLeases(scope).map((l) => [l.service, l]));
    for (const a of plan.assignments) {
      if (a.inheritsFrom === null) continue;
      const lease = current.get(a.service);
      if (lease && lease.port === a.port) {
        if (retie) tx.setOwner(lease.id, owner, expiresAt);
        continue;
      }
      if (lease) tx.remove(lease.id, 'released');
      tx.insert(newLease(a.service, a.port, a.inheritsFrom, owner, now, expiresAt));
    }
    return toConfirm;
  };

  const newLease = (
    service: string,
    port: number,
    inheritsFrom: string | null,
    owner: LeaseOwner | null,
    now: number,
    expiresAt: number | null,
  ) => ({
    port,
    kind: 'service' as const,
    project: config.project,
    dir: scope.dir,
    environment: scope.environment,
    service,
    inheritsFrom,
    owner,
    createdAt: now,
    expiresAt,
    scheme: schemeOf(specs.get(service)!),
  });

  /**
   * Whether planning `names` will look for free ports: false when every service
   * keeps a live lease (the steady state of `berth get`), so the kernel's table,
   * slow to read on large machines, is read only when it matters.
   */
  const needsKernelFacts = (names: readonly string[], leases: readonly Lease[]) => {
    const held = new Set(
      leases.filter((l) => staleness(l, adapters.now(), processes) === null).map((l) => l.service),
    );
    return names.some((n) => !held.has(n));
  };

  const assignServices = async (
    names: readonly string[],
    opts: AssignOptions = {},
  ): Promise<AssignResult> => {
    checkNames(names);
    const busy = new Set<number>();
    const attempts = config.maxRetries + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      // One read of the scope's leases serves both pre-checks (the transaction reads again under its lock).
      const leases = registry.scopeLeases(scope);
      // Read outside the registry's lock (never under it), and only when planning will look for ports.
      let listening: ReadonlySet<number> | null = null;
      if (attempt > 0 || needsKernelFacts(names, leases)) {
        await kernel.refresh();
        listening = kernel.listeningPorts();
      }
      const foreignHeld = await foreignHolders(leases);
      const { plan, toConfirm } = await registry.transaction((tx) =>
        allocateOnce(tx, names, opts, busy, listening, foreignHeld),
      );
      const failed: number[] = [];
      for (const port of toConfirm) {
        if ((await probe.check(port, config.healthCheckTimeout)) === 'busy') failed.push(port);
      }
      if (failed.length === 0) return result(plan);
      // The kernel's table missed a listener (it started between the read and the bind):
      // give the port back and plan again without it.
      for (const port of failed) busy.add(port);
      await registry.transaction((tx) => {
        for (const lease of tx.scopeLeases(scope)) {
          if (failed.includes(lease.port) && lease.inheritsFrom === null) tx.remove(lease.id, 'released');
        }
      });
    }
    throw new BerthError(
      'E_NO_PORT',
      `ports kept turning out busy when bound (${[...busy].join(', ')}) after ${attempts} attempts. Another program is grabbing ports; raise maxRetries or free them (berth who <port>).`,
      { data: { ports: [...busy] } },
    );
  };

  const result = (plan: Plan): AssignResult => {
    const services: Record<string, ServicePort> = {};
    for (const a of plan.assignments) {
      services[a.service] = {
        port: a.port,
        strategy: a.strategy,
        url: serviceUrl(specs.get(a.service)!, a.port),
      };
    }
    return {
      project: config.project,
      environment: config.environment,
      services,
      decisions: [...plan.decisions],
    };
  };

  const release = async (names: readonly string[] | null): Promise<Lease[]> => {
    // A service removed from the config can still be released while it holds a lease.
    const leased = new Set(registry.scopeLeases(scope).map((l) => l.service));
    if (names) checkNames(names.filter((n) => !leased.has(n)));
    return registry.transaction((tx) => {
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
    });
  };

  return {
    config,
    adapters,
    assignAll: (opts) =>
      assignServices(
        config.services.map((s) => s.name),
        opts,
      ),
    assignServices,
    assign: async (service, opts) => {
      const res = await assignServices([service], opts);
      return res.services[service]!;
    },
    ports: () => {
      const ports = new Map<string, number>();
      for (const lease of registry.scopeLeases(scope)) {
        if (staleness(lease, adapters.now(), processes) === null) {
          ports.set(lease.service, lease.port);
        }
      }
      return portsData(config.services, ports, config.environment);
    },
    leases: () => {
      const listening = kernel.listeningPorts();
      const order = new Map(config.services.map((s, i) => [s.name, i]));
      const rank = (l: Lease) => order.get(l.service) ?? order.size;
      return registry
        .scopeLeases(scope)
        .sort((a, b) => rank(a) - rank(b) || a.port - b.port)
        .map((l) => ({ ...l, ...leaseState(l, adapters.now(), processes, listening) }));
    },
    release: (...services) => release(services),
    releaseAll: () => release(null),
    setOwner: async (services, owner, ttlMs = null) => {
      checkNames(services);
      await registry.transaction((tx) => {
        const expiresAt = ttlMs ? adapters.now() + ttlMs : null;
        for (const lease of tx.scopeLeases(scope)) {
          if (services.includes(lease.service)) tx.setOwner(lease.id, owner, expiresAt);
        }
      });
    },
    close: () => registry.close(),
  };
}
