/**
 * `berth check --fix`: what to do about each problem comes from the core
 * (`planFixes`); this carries it out, one transaction per service, so a
 * failure or a racing process never leaves a service without its lease:
 * - a stale lease is removed only if it is still the lease that was diagnosed
 *   and still stale under the full check of its owner;
 * - a lease whose port a foreign process took is moved by one assignment,
 *   which removes the old lease and inserts the new one in the same
 *   transaction (a plan that finds no port throws before anything is written).
 */
import { type PortHolderFact, planFixes, type ServiceDiagnosis } from '../core/diagnose.js';
import { leaseEvent } from '../core/registry.js';
import { isBerthError } from '../errors.js';
import type { PortManager } from './manager.js';
import { reclaimBlockers } from './reclaim.js';

/** What `--fix` did about one service's problem. */
export type FixOutcome =
  /** The stale lease (and its inheritors' rows) was removed. */
  | {
      kind: 'reclaimed';
      service: string;
      port: number;
      reason: 'expired' | 'owner-dead';
      ownerPid: number | null;
    }
  /** The lease moved off a port a foreign process took; its owner keeps running on the old port. */
  | {
      kind: 'moved';
      service: string;
      from: number;
      to: number;
      holder: PortHolderFact | null;
      ownerPid: number | null;
    }
  /** Nothing done: the service left the config, or the lease changed since it was diagnosed. */
  | { kind: 'kept'; service: string; port: number; why: 'not-in-config' | 'changed' | 'port-freed' }
  /** The move failed; the lease is as it was. */
  | { kind: 'failed'; service: string; port: number; message: string }
  /** Taken by a foreign process, and autoReassign is off. */
  | { kind: 'stuck'; service: string; port: number; holder: PortHolderFact | null };

/**
 * Fixes what `rows` (a diagnosis of `pm`'s leases) found; returns one outcome per root service.
 *
 * @example
 * const outcomes = await fixLeases(pm, await diagnoseLeases(pm, names));
 */
export async function fixLeases(pm: PortManager, rows: readonly ServiceDiagnosis[]): Promise<FixOutcome[]> {
  const plan = planFixes(rows, pm.config.autoReassign);
  const known = new Set(pm.config.services.map((s) => s.name));
  const out: FixOutcome[] = [];
  for (const r of plan.reclaim) {
    if (!known.has(r.root)) out.push({ kind: 'kept', service: r.root, port: r.port, why: 'not-in-config' });
    else out.push(await reclaimStale(pm, r));
  }
  for (const r of plan.move) {
    if (!known.has(r.root)) out.push({ kind: 'kept', service: r.root, port: r.port, why: 'not-in-config' });
    else out.push(await moveOff(pm, r));
  }
  for (const r of plan.stuck) out.push({ kind: 'stuck', service: r.root, port: r.port, holder: r.holder });
  return out;
}

/** Removes `r.root`'s stale lease if it is still the one diagnosed and still stale. */
async function reclaimStale(pm: PortManager, r: ServiceDiagnosis): Promise<FixOutcome> {
  const { registry, processes } = pm.adapters;
  const reason = r.state === 'expired' ? 'expired' : 'owner-dead';
  const scope = { dir: pm.config.dir, environment: pm.config.environment };
  const done = await registry.transaction(
    (tx) => {
      const lease = tx.scopeLeases(scope).find((l) => l.service === r.root);
      if (!lease || lease.port !== r.port || (lease.owner?.pid ?? null) !== r.ownerPid) return false;
      const now = pm.adapters.now();
      if (lease.expiresAt !== null && lease.expiresAt <= now) {
        tx.remove(lease.id, 'reclaimed');
        tx.recordEvent(leaseEvent(lease, 'reclaimed', now, 'lease expired'));
        return true;
      }
      // Its owner's full check decides (a zombie is dead; a pid reused since is another process).
      return reclaimBlockers(tx, [lease], processes, now);
    },
    { reclaim: false },
  );
  return done
    ? { kind: 'reclaimed', service: r.root, port: r.port, reason, ownerPid: r.ownerPid }
    : { kind: 'kept', service: r.root, port: r.port, why: 'changed' };
}

/** Moves `r.root` (and the services sharing its port) off a port a foreign process took, in one assignment. */
async function moveOff(pm: PortManager, r: ServiceDiagnosis): Promise<FixOutcome> {
  const lease = pm.leases().find((l) => l.service === r.root);
  if (!lease || lease.port !== r.port) return { kind: 'kept', service: r.root, port: r.port, why: 'changed' };
  const known = new Set(pm.config.services.map((s) => s.name));
  const sharing = pm
    .leases()
    .filter((l) => l.port === r.port && known.has(l.service))
    .map((l) => l.service);
  const now = pm.adapters.now();
  try {
    // The lease keeps its owner and what is left of its lifetime. The assignment sees the
    // foreign listener itself, and moves the lease in the transaction that writes the new one.
    const result = await pm.assignServices(sharing, {
      owner: lease.owner,
      ttlMs: lease.expiresAt === null ? null : Math.max(1, lease.expiresAt - now),
    });
    const to = result.services[r.root]!.port;
    if (to === r.port) return { kind: 'kept', service: r.root, port: r.port, why: 'port-freed' };
    return { kind: 'moved', service: r.root, from: r.port, to, holder: r.holder, ownerPid: r.ownerPid };
  } catch (error) {
    if (!isBerthError(error)) throw error;
    return { kind: 'failed', service: r.root, port: r.port, message: error.message };
  }
}
