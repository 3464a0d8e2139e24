/**
 * Reclaiming leases whose owner died or whose expiry passed. It runs at the
 * start of every batch of registry transactions that plans (see `beforeBatch`
 * in src/adapters/registry/sqlite.ts), so every allocation plans from live
 * leases only, and a burst of killed test workers leaves nothing behind after
 * the next allocation that picks among ports. Transactions that plan from no
 * lease skip it: a release, and a lone getPort call that leases the free port it
 * names. So do the reserve's top-ups (on their timer, or carried by a release):
 * they pass over a dead owner's lease as taken, and never hand it out.
 *
 * It runs under the registry's lock, so it must be cheap: one check per
 * distinct owner process (not per lease), and for most owners that check is
 * a `kill(pid, 0)`, a syscall. The full check (the start time in /proc, which
 * also tells a zombie and a reused pid) is for owners older than
 * {@link OWNER_TRUST_MS}, at most every {@link OWNER_VERIFY_MS} per owner, and
 * for at most {@link OWNER_CHECKS_PER_BATCH} owners a batch. Reading 64 /proc
 * files in every batch of a 64-process burst cost more than the batch itself
 * (#8); so did the first batch of each of 64 test workers once they had run
 * for 10 s, each checking the 63 others in full (#22).
 */
import type { ProcessTable } from '../core/facts.js';
import { leaseEvent, type OwnerRow, type RegistryTx } from '../core/registry.js';
import type { Lease, LeaseOwner } from '../core/types.js';

/**
 * An owner whose first lease is younger than this (ms) is alive while its pid
 * exists: a pid is not reused within seconds of its process's start on any
 * system berth runs on, so only a zombie (exited, not yet reaped by its parent,
 * its sockets already closed) can fool the check, and only until it is reaped.
 */
export const OWNER_TRUST_MS = 10_000;

/**
 * How long an owner verified alive (pid and start time) is trusted on
 * `kill(pid, 0)` alone, in milliseconds. A zombie or a reused pid within this
 * window delays the reclaim of that owner's leases by at most this long; it
 * never hands a port twice.
 */
export const OWNER_VERIFY_MS = 2_000;

/**
 * Full checks one batch's sweep makes at most: the due owners this process has gone
 * longest without checking in full (never first), so every owner gets its turn however
 * far apart the batches come; the others are checked with `kill(pid, 0)` this time. A
 * dead owner whose pid is gone is still reclaimed at once; a zombie or a reused pid among
 * many owners waits a few batches more, and its leases are never handed twice meanwhile.
 * A request for a port in the zombie's hands checks that owner in full at once
 * (reclaimBlockers).
 */
export const OWNER_CHECKS_PER_BATCH = 8;

/** A lease taken back, and why. */
export interface Reclaimed {
  lease: Lease;
  reason: 'expired' | 'owner-dead';
}

const ownerKey = (owner: LeaseOwner) => `${owner.pid}:${owner.startTime ?? ''}`;

/** Records a `reclaimed` event for each service lease (inheriting rows follow their root). */
function recordReclaimed(tx: RegistryTx, reclaimed: readonly Reclaimed[], now: number): void {
  for (const { lease, reason } of reclaimed) {
    if (lease.kind !== 'service' || lease.inheritsFrom !== null) continue;
    const detail = reason === 'expired' ? 'lease expired' : `owner pid ${lease.owner?.pid} died`;
    tx.recordEvent(leaseEvent(lease, 'reclaimed', now, detail));
  }
}

/**
 * Gives the owners of `leases` (leases that stand in the way of a request: a
 * port asked for by number, or every lease of a range found full) the full
 * check that the batch's sweep spares young owners, and reclaims the leases of
 * those it finds dead: a zombie (a test worker killed while its parent does
 * not reap) passes `kill(pid, 0)` but not this. One check per distinct owner;
 * this process's own leases are never touched. Returns whether it removed any.
 * `alive`: owners already found alive in this transaction (skipped, and added to):
 * a burst of 25 requests for one port held by another process checked that owner's
 * /proc entry 25 times under the lock (#22).
 *
 * @example
 * if (reclaimBlockers(tx, [tx.lease(id)!], processes, now())) replan();
 */
export function reclaimBlockers(
  tx: RegistryTx,
  leases: readonly Lease[],
  processes: ProcessTable,
  now: number,
  alive: Set<string> = new Set(),
): boolean {
  // Most requests meet no lease in their way: nothing to check (this runs in every request).
  if (leases.length === 0) return false;
  const self = processes.self();
  const checked = new Set<string>();
  const out: Reclaimed[] = [];
  for (const { owner } of leases) {
    if (!owner || (owner.pid === self.pid && owner.startTime === self.startTime)) continue;
    const key = ownerKey(owner);
    if (checked.has(key) || alive.has(key)) continue;
    checked.add(key);
    if (processes.isAlive(owner)) {
      alive.add(key);
      continue;
    }
    for (const lease of tx.removeOwnedBy(owner, 'reclaimed')) out.push({ lease, reason: 'owner-dead' });
  }
  recordReclaimed(tx, out, now);
  return out.length > 0;
}

/** Reclaims stale leases; keeps, per process, when each owner was last verified alive. */
export class Reclaimer {
  private readonly verifiedAt = new Map<string, number>();

  constructor(
    private readonly processes: ProcessTable,
    private readonly now: () => number,
  ) {}

  /**
   * Removes every lease of a dead owner and every expired lease, recording an
   * event for each service lease; returns what it removed.
   *
   * @example
   * registry.transaction((tx) => reclaimer.reclaim(tx));
   */
  reclaim(tx: RegistryTx): Reclaimed[] {
    const now = this.now();
    const out: Reclaimed[] = [];
    const self = this.processes.self();
    const owners = tx.owners();
    // A bounded transaction (etcd) takes what fits; the registry commits it and runs the reclaim again.
    const full = () => tx.full?.() === true;
    const checkInFull = this.dueForFullCheck(owners, self.pid, now);
    for (const owner of owners) {
      if (full()) break;
      const key = ownerKey(owner);
      if (
        owner.pid === self.pid
          ? owner.startTime === self.startTime
          : this.alive(owner, key, now, checkInFull.has(key))
      )
        continue;
      if (!tx.full) {
        for (const lease of tx.removeOwnedBy(owner, 'reclaimed')) out.push({ lease, reason: 'owner-dead' });
        continue;
      }
      const start = owner.startTime ?? '';
      for (const lease of tx.leasesOwnedBy(owner.pid)) {
        if ((lease.owner?.startTime ?? '') !== start || tx.lease(lease.id) === null) continue;
        if (full()) break;
        tx.remove(lease.id, 'reclaimed');
        out.push({ lease, reason: 'owner-dead' });
      }
    }
    // Forget owners that left the registry (they released everything), so the map stays small.
    if (this.verifiedAt.size > owners.length) {
      const current = new Set(owners.map(ownerKey));
      for (const key of this.verifiedAt.keys()) if (!current.has(key)) this.verifiedAt.delete(key);
    }
    for (const lease of tx.expired(now)) {
      if (full()) break;
      if (tx.lease(lease.id) === null) continue;
      tx.remove(lease.id, 'reclaimed');
      out.push({ lease, reason: 'expired' });
    }
    recordReclaimed(tx, out, now);
    return out;
  }

  /**
   * The owners (by key) this batch checks in full: of those due for it (older than
   * {@link OWNER_TRUST_MS}, not verified in the last {@link OWNER_VERIFY_MS}), the
   * {@link OWNER_CHECKS_PER_BATCH} this process has gone longest without verifying.
   */
  private dueForFullCheck(owners: readonly OwnerRow[], selfPid: number, now: number): Set<string> {
    const due: { key: string; verified: number }[] = [];
    for (const owner of owners) {
      if (owner.pid === selfPid || now - owner.since < OWNER_TRUST_MS) continue;
      const key = ownerKey(owner);
      const verified = this.verifiedAt.get(key) ?? Number.NEGATIVE_INFINITY;
      if (now - verified >= OWNER_VERIFY_MS) due.push({ key, verified });
    }
    if (due.length > OWNER_CHECKS_PER_BATCH) due.sort((a, b) => a.verified - b.verified);
    return new Set(due.slice(0, OWNER_CHECKS_PER_BATCH).map((d) => d.key));
  }

  /**
   * Whether another process's owner row still has a live process: in full (pid, start
   * time, zombie state) when `inFull`, otherwise `kill(pid, 0)` (see the module comment).
   */
  private alive(owner: OwnerRow, key: string, now: number, inFull: boolean): boolean {
    if (!inFull) {
      if (this.processes.exists(owner.pid)) return true;
    } else if (this.processes.isAlive(owner)) {
      this.verifiedAt.set(key, now);
      return true;
    }
    this.verifiedAt.delete(key);
    return false;
  }
}
