/**
 * Who is on a port (`berth who`): the processes listening on it, as the
 * adapters see them, and berth's leases of it, with the owning lease's state.
 */
import type { PortHolders } from '../core/facts.js';
import type { Lease } from '../core/types.js';
import type { Adapters } from './context.js';
import { type LeaseView, leaseViews } from './lease-views.js';

/** Everything `berth who` shows about a port. */
export interface PortReport {
  /** The processes listening on the port; nothing listens when both lists are empty. */
  found: PortHolders;
  /** Every lease on the port (inheriting services share their root's port). */
  leases: Lease[];
  /** The lease that owns the port ({@link leaseOnPort}) with its state, or `null` when berth leased it to nobody. */
  lease: LeaseView | null;
}

/**
 * The lease that owns `port`: the root row when inheriting services share it.
 *
 * @example
 * leaseOnPort(registry.leasesInRange(3000, 3000))?.service; // 'server', not 'websocket'
 */
export function leaseOnPort(leases: readonly Lease[]): Lease | null {
  return leases.find((l) => l.inheritsFrom === null) ?? leases[0] ?? null;
}

/**
 * Who listens on `port` (from the kernel facts' listeners) and which lease holds it.
 *
 * @example
 * const { found, lease } = await whoIsOn(createAdapters(), 3000);
 */
export async function whoIsOn(
  adapters: Pick<Adapters, 'holders' | 'kernel' | 'registry' | 'processes' | 'now'>,
  port: number,
): Promise<PortReport> {
  const found = await adapters.holders.find(port, adapters.kernel.listeners());
  const leases = adapters.registry.leasesInRange(port, port);
  const owner = leaseOnPort(leases);
  return { found, leases, lease: owner ? leaseViews(adapters, [owner])[0]! : null };
}

/**
 * The login name of `uid` (the uid as text when unknown), `null` when the uid itself is unknown.
 *
 * @example
 * userNameOf(adapters, 0); // 'root'
 */
export function userNameOf(adapters: Pick<Adapters, 'users'>, uid: number | null): string | null {
  return uid === null ? null : adapters.users.nameOf(uid);
}
