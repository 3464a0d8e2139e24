/**
 * `GET /api/ports`: the seed's response for one checkout and environment. It
 * is the route front ends poll, so its serialised response is cached per
 * request URL and dropped whenever the registry's event log moves (every
 * assign, move, release and reclaim writes an event) or after a second (a
 * lease whose owner died turns stale without an event).
 */

import { staleness } from '../compose/lease-views.js';
import { leaseName } from '../compose/names.js';
import type { ProjectRegistries } from '../compose/project-registries.js';
import type { CheckoutStore } from '../core/checkouts.js';
import { type PortsData, portsData, schemeUrl } from '../core/endpoints.js';
import type { ProcessTable } from '../core/facts.js';
import { namedUrl } from '../core/names.js';
import type { Registry, RegistryReader } from '../core/registry.js';
import { DEFAULT_ENVIRONMENT, type Lease, type ResolvedConfig } from '../core/types.js';
import type { ConfigCache } from './config-cache.js';
import { HttpError, toHttpError } from './errors.js';
import type { EventHub } from './events.js';
import { API_HEADERS } from './headers.js';
import type { HttpResponse } from './message.js';
import { resolveProject } from './projects.js';
import { remotePorts } from './remote-ports.js';

/** Longest a cached response lives while no event arrives. */
export const PORTS_CACHE_MAX_AGE_MS = 1_000;

/** Distinct URLs cached at most; past that the cache starts over (query strings are caller-chosen). */
const MAX_ENTRIES = 256;

/**
 * The seed's data from a checkout's live leases: in the config's declaration order
 * and with its URL schemes when the config loads (then equal to `pm.ports()`), else
 * from the leases alone (each lease records its scheme).
 */
export function portsFromLeases(
  leases: readonly Lease[],
  environment: string,
  config: ResolvedConfig | null,
): PortsData {
  const ports = new Map(leases.map((l) => [l.service, l.port]));
  if (config !== null) return portsData(config.services, ports, environment);
  const data: Record<string, number> = {};
  const urls: Record<string, string> = {};
  for (const l of leases) {
    data[l.service] = l.port;
    urls[l.service] = schemeUrl(l.scheme ?? 'tcp', l.port);
  }
  return { ...data, environment, urls } as PortsData;
}

interface Cached {
  response: HttpResponse;
  version: number;
  at: number;
}

/** Dependencies of the ports route. */
export interface PortsRouteDeps {
  /** A full registry (not only a reader): `host=` reads other hosts from the shared store. */
  registry: RegistryReader & Partial<Registry>;
  processes: ProcessTable;
  configs: ConfigCache;
  hub: EventHub;
  /** The registry of each project (its config's `registry` key); without it, `registry` for all. */
  registries?: ProjectRegistries;
  now: () => number;
  /** The proxy's port and the registered checkouts, for the `names` map; `null` without a proxy. */
  names?: { port: number; checkouts: CheckoutStore } | null;
}

/** The `GET /api/ports` handler with its cache. */
export class PortsRoute {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly deps: PortsRouteDeps) {}

  /** Answers `url` (path and query); `search` is its query string. */
  async handle(url: string, search: string): Promise<HttpResponse> {
    const { hub, now } = this.deps;
    hub.maybeSync();
    const hit = this.cache.get(url);
    const t = now();
    if (hit && hit.version === hub.version && t - hit.at < PORTS_CACHE_MAX_AGE_MS) return hit.response;
    const version = hub.version;
    const response = await this.build(new URLSearchParams(search));
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(url, { response, version, at: t });
    return response;
  }

  private async build(query: URLSearchParams): Promise<HttpResponse> {
    const { registry, processes, configs, now } = this.deps;
    try {
      const environment = query.get('env') ?? query.get('environment') ?? DEFAULT_ENVIRONMENT;
      const host = query.get('host');
      if (host !== null && host !== '' && registry.directory && host !== registry.directory.host) {
        const data = await remotePorts(registry as Registry, {
          host,
          project: query.get('project'),
          dir: query.get('dir'),
          environment,
        });
        return jsonResponse(data);
      }
      const { registries } = this.deps;
      const ref = resolveProject(
        { project: query.get('project') ?? undefined, dir: query.get('dir') ?? undefined, environment },
        registries ? await registries.knownLeases() : registry.allLeases(),
      );
      const config = await configs.get(ref.dir, environment);
      // The project's registry, as the CLI there would use it.
      const source = registries && config ? (await registries.for(config)).registry : registry;
      const t = now();
      const leases = source
        .scopeLeases({ dir: ref.dir, environment })
        .filter((l) => staleness(l, t, processes) === null);
      if (leases.length === 0 && config === null) {
        throw new HttpError(
          'E_NOT_FOUND',
          `no leases and no berth config in ${ref.dir}. Check the folder, or run \`berth assign\` there first.`,
          { data: { dir: ref.dir } },
        );
      }
      if (ref.name !== null && config !== null && config.project !== ref.name) {
        throw new HttpError(
          'E_NOT_FOUND',
          `${ref.dir} holds project "${config.project}", not "${ref.name}". Fix project= or dir=.`,
          { data: { dir: ref.dir, project: ref.name } },
        );
      }
      const data = portsFromLeases(leases, environment, config);
      return jsonResponse(this.withNames(data, leases, ref.dir));
    } catch (error) {
      return toHttpError(error).response();
    }
  }

  /** Adds `names` (service -> named URL) beside `urls`, when the daemon runs a proxy. */
  private withNames(data: PortsData, leases: readonly Lease[], dir: string): PortsData {
    const { names } = this.deps;
    if (!names) return data;
    const checkout = names.checkouts.get(dir);
    const out: Record<string, string> = {};
    for (const service of Object.keys(data.urls)) {
      const lease = leases.find((l) => l.service === service);
      const host = lease ? leaseName(lease, checkout) : null;
      if (host !== null) out[service] = namedUrl(lease!.scheme!, host, names.port);
    }
    return { ...data, names: out };
  }
}

function jsonResponse(data: PortsData): HttpResponse {
  // A string body goes out with the headers in one write; a Buffer would take a writev of two.
  const body = JSON.stringify({ success: true, data });
  return {
    status: 200,
    headers: { ...API_HEADERS, 'content-length': String(Buffer.byteLength(body)) },
    body,
  };
}
