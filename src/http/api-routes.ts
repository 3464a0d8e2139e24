/**
 * The API's routes other than `/api/ports`: leases, health, assign, release,
 * the event stream and the daemon's status. Each takes the request and returns
 * data; src/http/app.ts wraps it as `{ success: true, data }` after the checks.
 */

import type { Adapters } from '../compose/context.js';
import { leaseUrl, leaseViews } from '../compose/lease-views.js';
import { createManagerFor } from '../compose/manager.js';
import { checkoutsByDir, leaseName } from '../compose/names.js';
import type { ProjectRegistries } from '../compose/project-registries.js';
import { type RunView, runKey, runViews } from '../compose/stack/status.js';
import { namedUrl } from '../core/names.js';
import { DEFAULT_ENVIRONMENT, type ResolvedConfig } from '../core/types.js';
import { optionalString, readJsonBody, requiredString } from './body.js';
import type { ConfigCache } from './config-cache.js';
import { HttpError } from './errors.js';
import type { EventHub } from './events.js';
import type { HealthMonitor, ServiceHealth } from './health.js';
import { type ApiLeaseJson, apiLeaseJson } from './leases-view.js';
import { type HttpRequest, headerValue, type StreamBody } from './message.js';
import { resolveProject } from './projects.js';

/** What the routes work with. */
export interface ApiDeps {
  adapters: Adapters;
  /** The registry of each project (its config's `registry` key), the daemon's own by default. */
  registries: ProjectRegistries;
  configs: ConfigCache;
  hub: EventHub;
  health: HealthMonitor;
  /** The daemon's own facts for `/api/status`. */
  status: () => Record<string, unknown>;
  /** The proxy's port, for each lease's `name`; `null` without a proxy. */
  proxyPort: number | null;
}

/** `GET /api/leases` data. */
export interface LeasesData {
  leases: ApiLeaseJson[];
  /** Newest event id when the list was read: stream from here to miss nothing. */
  lastEventId: number;
}

/** `GET /api/health` data: one entry per service lease. */
export interface HealthData {
  intervalMs: number;
  checkedAt: number | null;
  services: (ServiceHealth & {
    project: string;
    dir: string;
    environment: string;
    service: string;
    port: number;
    url: string | null;
    /** What `berth up` does with the service, `null` when it does not run it. */
    run: RunView | null;
  })[];
}

const UNCHECKED: ServiceHealth = {
  status: 'unknown',
  reason: 'not checked yet',
  latencyMs: null,
  checkedAt: null,
  history: [],
};

/** Every lease with state, health and its service's range. */
export async function leasesRoute(deps: ApiDeps): Promise<LeasesData> {
  const { registry, kernel } = deps.adapters;
  deps.hub.sync();
  const lastEventId = deps.hub.version;
  const leases = registry.allLeases();
  await kernel.refresh();
  const configs = new Map<string, ResolvedConfig | null>();
  const runs = runViews(deps.adapters);
  const checkouts = deps.proxyPort === null ? null : checkoutsByDir(deps.adapters);
  const out: ApiLeaseJson[] = [];
  for (const lease of leaseViews(deps.adapters, leases)) {
    let config: ResolvedConfig | null = null;
    if (lease.kind === 'service') {
      const key = `${lease.dir}\0${lease.environment}`;
      if (!configs.has(key)) configs.set(key, await deps.configs.get(lease.dir, lease.environment));
      config = configs.get(key) ?? null;
    }
    const health = lease.kind === 'service' ? (deps.health.get(lease) ?? UNCHECKED) : null;
    const run = lease.kind === 'service' ? (runs.get(runKey(lease)) ?? null) : null;
    const host = checkouts === null ? null : leaseName(lease, checkouts.get(lease.dir));
    const name = host === null ? null : namedUrl(lease.scheme!, host, deps.proxyPort!);
    out.push(apiLeaseJson(lease, health, config, run, name));
  }
  return { leases: out, lastEventId };
}

/** The health of every leased service. */
export function healthRoute(deps: ApiDeps): HealthData {
  // The dashboard polls this route, so berth up's run states ride along and stay live.
  const runs = runViews(deps.adapters);
  const services = deps.adapters.registry
    .allLeases()
    .filter((l) => l.kind === 'service')
    .map((l) => ({
      project: l.project,
      dir: l.dir,
      environment: l.environment,
      service: l.service,
      port: l.port,
      url: leaseUrl(l),
      ...(deps.health.get(l) ?? UNCHECKED),
      run: runs.get(runKey(l)) ?? null,
    }));
  return { intervalMs: deps.health.intervalMs, checkedAt: deps.health.checkedAt, services };
}

/** Loads the checkout a mutation names, checking that a given name matches its config. */
async function projectFor(deps: ApiDeps, body: Record<string, unknown>, environment: string) {
  const project = requiredString(body, 'project', 'shop');
  const ref = resolveProject(
    { project, dir: optionalString(body, 'dir'), environment },
    await deps.registries.knownLeases(),
  );
  const config = await deps.configs.require(ref.dir, environment);
  if (ref.name !== null && config.project !== ref.name) {
    throw new HttpError(
      'E_NOT_FOUND',
      `${ref.dir} holds project "${config.project}", not "${ref.name}". Fix "project" or "dir".`,
      { data: { dir: ref.dir, project: ref.name } },
    );
  }
  // The project's registry, as `berth assign` there would use it.
  return createManagerFor(config, await deps.registries.for(config));
}

/** `POST /api/assign` `{ project, service?, environment?, dir? }`: as `berth assign [service]`. */
export async function assignRoute(deps: ApiDeps, request: HttpRequest) {
  const body = readJsonBody(request, ['project', 'service', 'environment', 'dir']);
  const environment = optionalString(body, 'environment') ?? DEFAULT_ENVIRONMENT;
  const service = optionalString(body, 'service');
  const pm = await projectFor(deps, body, environment);
  // The manager shares the daemon's registry: it is not closed here.
  const result = service === undefined ? await pm.assignAll() : await pm.assignServices([service]);
  deps.hub.sync();
  return result;
}

/** `POST /api/release` `{ project, service?, environment?, dir? }`: as `berth release [service]` (all without one). */
export async function releaseRoute(deps: ApiDeps, request: HttpRequest) {
  const body = readJsonBody(request, ['project', 'service', 'environment', 'dir']);
  const environment = optionalString(body, 'environment') ?? DEFAULT_ENVIRONMENT;
  const service = optionalString(body, 'service');
  const pm = await projectFor(deps, body, environment);
  const released = service === undefined ? await pm.releaseAll() : await pm.release(service);
  deps.hub.sync();
  return {
    project: pm.config.project,
    environment,
    released: released.map((l) => ({ service: l.service, port: l.port })),
  };
}

/** `GET /api/events`: resumes after `Last-Event-ID` (or `?since=`), else starts with the next event. */
export function eventsRoute(deps: ApiDeps, request: HttpRequest, query: URLSearchParams): StreamBody {
  const given = headerValue(request, 'last-event-id') ?? query.get('since') ?? undefined;
  if (given !== undefined && !/^\d{1,15}$/.test(given.trim())) {
    throw new HttpError(
      'E_USAGE',
      `Last-Event-ID "${given}" is not an event id. Send the id of the last event received (a whole number).`,
    );
  }
  return deps.hub.stream(given === undefined ? null : Number(given.trim()));
}
