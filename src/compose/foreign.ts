/**
 * Which of a project's leases a process berth did not lease has taken: the
 * fact `autoReassign` acts on. Only leases with an owner can be judged (the
 * listener must be the owner or one of its descendants); a lease made by
 * `berth assign` has no owner, so whoever listens on it counts as the service.
 */
import { readListenersAsync } from '../adapters/net/procnet.js';
import { findPortHolders } from '../adapters/process/holders.js';
import { readProcStat } from '../adapters/process/stat.js';
import { diagnosePort } from '../core/diagnose.js';
import type { Lease } from '../core/types.js';

/** The parent pid from /proc (Linux); `null` elsewhere or when the process is gone. */
export const parentOf = (pid: number): number | null => readProcStat(pid)?.ppid ?? null;

/**
 * Ports of `leases` held by a foreign process, each with a description of the
 * holder (`pid 123 (nc -l 3000)`). Costs nothing unless the project has leases
 * with an owner (`berth run`, library callers); then one fresh, off-thread read
 * of the kernel's table, and a look at the holders of listening ports.
 */
export async function foreignHolders(leases: readonly Lease[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const owned = leases.filter((l) => l.inheritsFrom === null && l.owner !== null);
  if (owned.length === 0) return out;
  // A fresh read: a cached table could miss the squatter that arrived a moment ago.
  const listeners = await readListenersAsync();
  for (const lease of owned) {
    if (listeners && !listeners.some((l) => l.port === lease.port)) continue;
    const found = await findPortHolders(lease.port, listeners);
    const { state, holder } = diagnosePort({ ownerPid: lease.owner!.pid, stale: null }, found, parentOf);
    if (state === 'foreign' && holder) {
      out.set(lease.port, `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`);
    }
  }
  return out;
}
