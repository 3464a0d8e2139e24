/**
 * The JSON shape of a lease in `GET /api/leases`: the lease's JSON as
 * `berth ls --json` prints it (src/compose/lease-views.ts), plus its id, kind,
 * URL, inheritance, expiry, its range and preferred ports (for the dashboard's
 * port map), its health and what `berth up` does with it.
 */
import { type LeaseJson, type LeaseView, leaseJson, leaseUrl } from '../compose/lease-views.js';
import type { RunView } from '../compose/stack/status.js';
import { inheritanceRoot } from '../core/order.js';
import type { Lease, PortRange, ResolvedConfig } from '../core/types.js';
import type { ServiceHealth } from './health.js';

/** One lease as the API returns it. */
export interface ApiLeaseJson extends LeaseJson {
  id: number;
  kind: Lease['kind'];
  /** `http://localhost:3000`; `null` for ad-hoc leases (no scheme known). */
  url: string | null;
  /** The service's name through berth's proxy, `http://web.shop.localhost:4939`; `null` when it has none. */
  name: string | null;
  inheritsFrom: string | null;
  /** Why a stale lease is stale, else `null`. */
  staleReason: 'owner-dead' | 'expired' | null;
  expiresAt: string | null;
  /** The service's range from its config, `null` when unknown. */
  range: PortRange | null;
  /** The service's preferred ports from its config. */
  preferred: number[];
  /** Latest health; `null` for ad-hoc leases. */
  health: ServiceHealth | null;
  /** What `berth up` does with the service (state, pid, restarts); `null` when it does not run it. */
  run: RunView | null;
}

/**
 * Builds the API view of a lease, its fields in the order the API has always sent them.
 *
 * @example
 * apiLeaseJson(leaseViews(adapters, [lease])[0]!, health.get(lease), config);
 */
export function apiLeaseJson(
  view: LeaseView,
  health: ServiceHealth | null,
  config: ResolvedConfig | null,
  run: RunView | null = null,
  name: string | null = null,
): ApiLeaseJson {
  const byName = new Map(config?.services.map((s) => [s.name, s]));
  const root = byName.get(inheritanceRoot(view.service, byName));
  const { project, dir, environment, service, port, state, pid, createdAt, expiresAt } = leaseJson(view);
  return {
    id: view.id,
    project,
    dir,
    environment,
    service,
    kind: view.kind,
    port,
    url: leaseUrl(view),
    name,
    inheritsFrom: view.inheritsFrom,
    state,
    staleReason: view.state === 'stale' ? view.reason : null,
    pid,
    createdAt,
    expiresAt,
    range: root?.range ?? null,
    preferred: [...(root?.preferred ?? [])],
    health,
    run,
  };
}
