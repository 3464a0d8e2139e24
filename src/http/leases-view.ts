/**
 * The JSON shape of a lease in `GET /api/leases`: what `berth ls --json` shows,
 * plus its URL, its range and preferred ports (for the dashboard's port map)
 * and its health.
 */
import { URL_HOST } from '../core/endpoints.js';
import type { Lease, LeaseState, PortRange, ResolvedConfig } from '../core/types.js';
import type { ServiceHealth } from './health.js';

/** One lease as the API returns it. */
export interface LeaseJson {
  id: number;
  /** Project name; empty for ad-hoc `getPort()` leases. */
  project: string;
  dir: string;
  environment: string;
  service: string;
  kind: Lease['kind'];
  port: number;
  /** `http://localhost:3000`; `null` for ad-hoc leases (no scheme known). */
  url: string | null;
  inheritsFrom: string | null;
  state: LeaseState['state'];
  /** Why a stale lease is stale, else `null`. */
  staleReason: 'owner-dead' | 'expired' | null;
  /** Owner pid, `null` for leases that live until released. */
  pid: number | null;
  createdAt: string;
  expiresAt: string | null;
  /** The service's range from its config, `null` when unknown. */
  range: PortRange | null;
  /** The service's preferred ports from its config. */
  preferred: number[];
  /** Latest health; `null` for ad-hoc leases. */
  health: ServiceHealth | null;
}

/** Builds the API view of a lease. */
export function leaseJson(
  lease: Lease,
  state: LeaseState,
  health: ServiceHealth | null,
  config: ResolvedConfig | null,
): LeaseJson {
  const spec = config?.services.find((s) => s.name === lease.service);
  const root = spec?.inheritFrom ? config?.services.find((s) => s.name === spec.inheritFrom) : spec;
  return {
    id: lease.id,
    project: lease.project,
    dir: lease.dir,
    environment: lease.environment,
    service: lease.service,
    kind: lease.kind,
    port: lease.port,
    url: lease.scheme ? `${lease.scheme}://${URL_HOST}:${lease.port}` : null,
    inheritsFrom: lease.inheritsFrom,
    state: state.state,
    staleReason: state.state === 'stale' ? state.reason : null,
    pid: lease.owner?.pid ?? null,
    createdAt: new Date(lease.createdAt).toISOString(),
    expiresAt: lease.expiresAt === null ? null : new Date(lease.expiresAt).toISOString(),
    range: root?.range ?? null,
    preferred: [...(root?.preferred ?? [])],
    health,
  };
}
