/**
 * A lease with its live state: the one builder behind `pm.leases()`,
 * `berth ls`, `berth who` and `GET /api/leases`, the one JSON shape of a lease
 * (`berth ls --json`), and a lease's URL.
 */
import { schemeUrl } from '../core/endpoints.js';
import type { ProcessTable } from '../core/facts.js';
import type { Lease, LeaseState } from '../core/types.js';
import type { Adapters } from './context.js';

/** A lease with its live state, for listings. */
export type LeaseView = Lease & LeaseState;

/** Why a lease is no longer live, or `null` while it is. */
export function staleness(
  lease: Lease,
  now: number,
  processes: ProcessTable,
): 'expired' | 'owner-dead' | null {
  if (lease.expiresAt !== null && lease.expiresAt <= now) return 'expired';
  if (lease.owner && !processes.isAlive(lease.owner)) return 'owner-dead';
  return null;
}

/** The state `berth ls` shows: stale (owner dead or expired), bound (something listens) or reserved. */
export function leaseState(
  lease: Lease,
  now: number,
  processes: ProcessTable,
  listening: ReadonlySet<number> | null,
): LeaseState {
  const stale = staleness(lease, now, processes);
  if (stale) return { state: 'stale', reason: stale };
  return listening?.has(lease.port) ? { state: 'bound' } : { state: 'reserved' };
}

/**
 * The leases with their states, in the order given: one read of the clock and
 * of the kernel's listening ports (as cached; `await kernel.refresh()` first
 * for a fresher table) serves them all.
 *
 * @example
 * const views = leaseViews(adapters, adapters.registry.allLeases());
 */
export function leaseViews(
  adapters: Pick<Adapters, 'kernel' | 'processes' | 'now'>,
  leases: readonly Lease[],
): LeaseView[] {
  const now = adapters.now();
  const listening = adapters.kernel.listeningPorts();
  return leases.map((l) => ({ ...l, ...leaseState(l, now, adapters.processes, listening) }));
}

/** The JSON shape of a lease, as `berth ls --json` prints it (the API adds fields to it). */
export interface LeaseJson {
  /** Project name; empty for ad-hoc `getPort()` leases. */
  project: string;
  dir: string;
  environment: string;
  service: string;
  port: number;
  state: LeaseState['state'];
  /** Owner pid, `null` for leases that live until released. */
  pid: number | null;
  /** ISO 8601. */
  createdAt: string;
  /** When the lease expires (`--ttl`), ISO 8601; `null` for a lease that lives until released or its owner dies. */
  expiresAt: string | null;
}

/**
 * The JSON of a lease.
 *
 * @example
 * JSON.stringify(pm.leases().map(leaseJson));
 */
export function leaseJson(view: LeaseView): LeaseJson {
  return {
    project: view.project,
    dir: view.dir,
    environment: view.environment,
    service: view.service,
    port: view.port,
    state: view.state,
    pid: view.owner?.pid ?? null,
    createdAt: new Date(view.createdAt).toISOString(),
    expiresAt: view.expiresAt === null ? null : new Date(view.expiresAt).toISOString(),
  };
}

/**
 * A lease's URL from the scheme it recorded, or `null` for ad-hoc leases (no scheme known).
 *
 * @example
 * leaseUrl({ scheme: 'ws', port: 3000 }) // 'ws://localhost:3000'
 */
export function leaseUrl(lease: Pick<Lease, 'scheme' | 'port'>): string | null {
  return lease.scheme ? schemeUrl(lease.scheme, lease.port) : null;
}
