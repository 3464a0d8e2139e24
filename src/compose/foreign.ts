/**
 * Which of a project's leases a process berth did not lease has taken: the
 * fact `autoReassign` acts on. Only leases with an owner can be judged (the
 * listener must be the owner or one of its descendants); a lease made by
 * `berth assign` has no owner, so whoever listens on it counts as the service.
 */
import { diagnosePort } from '../core/diagnose.js';
import type { Lease } from '../core/types.js';
import type { Adapters } from './context.js';

/**
 * Ports of `leases` held by a foreign process, each with a description of the
 * holder (`pid 123 (nc -l 3000)`). Costs nothing unless the project has leases
 * with an owner (`berth run`, library callers); then one fresh, off-thread read
 * of the kernel's table, and a look at the holders of listening ports.
 *
 * @example
 * const held = await foreignHolders(adapters, registry.scopeLeases(scope));
 * held.get(3000); // 'pid 4242 (nc -l 3000)'
 */
export async function foreignHolders(
  adapters: Pick<Adapters, 'freshListeners' | 'holders' | 'tree'>,
  leases: readonly Lease[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const owned = leases.filter((l) => l.inheritsFrom === null && l.owner !== null);
  if (owned.length === 0) return out;
  // A fresh read: a cached table could miss the squatter that arrived a moment ago.
  const listeners = await adapters.freshListeners.read();
  const parentOf = (pid: number) => adapters.tree.parentOf(pid);
  for (const lease of owned) {
    if (listeners && !listeners.some((l) => l.port === lease.port)) continue;
    const found = await adapters.holders.find(lease.port, listeners);
    const { state, holder } = diagnosePort({ ownerPid: lease.owner!.pid, stale: null }, found, parentOf);
    if (state === 'foreign' && holder) {
      out.set(lease.port, `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`);
    }
  }
  return out;
}
