/**
 * What `berth check` concludes about a lease, from facts the adapters gathered:
 * who listens on its port, whether its owner lives, the process tree. Pure: no
 * /proc, no sockets, no clock.
 */
import type { HealthStatus } from './types.js';

/**
 * A lease's port: nothing listens (`free`), its owner or anything it started
 * listens (`bound`), a process berth did not lease listens (`foreign`), or the
 * lease itself is stale (`owner-dead`, `expired`).
 */
export type PortState = 'free' | 'bound' | 'foreign' | 'owner-dead' | 'expired';

/** A process listening on the port, as far as berth can see it. */
export interface PortHolderFact {
  pid: number;
  command: string | null;
}

/** Who listens on one port. */
export interface ListenerFacts {
  /** Processes berth can see. */
  holders: readonly PortHolderFact[];
  /** Listening sockets whose process berth cannot see (another user's, another pid namespace). */
  hidden: readonly { reason: 'other-user' | 'unknown' }[];
}

/** What the registry and the process table say about the lease. */
export interface LeaseFacts {
  /** The lease's owner pid, `null` for leases made by `berth assign` (they live until released). */
  ownerPid: number | null;
  /** Why the lease is no longer live, or `null` while it is. */
  stale: 'owner-dead' | 'expired' | null;
}

/** The parent of a process, `null` when unknown (it exited, or no /proc). */
export type ParentOf = (pid: number) => number | null;

/** Deep enough for any real process tree; stops a corrupt or cyclic table from looping forever. */
const MAX_TREE_DEPTH = 128;

/**
 * Whether `pid` is `ancestor` or one of its descendants: walks parent pids
 * upward. `null` when the chain breaks before it reaches pid 1 (a process
 * exited mid-walk, or the platform cannot tell).
 *
 * @example
 * const parents = new Map([[30, 20], [20, 10], [10, 1]]);
 * descendsFrom(30, 10, (pid) => parents.get(pid) ?? null); // true
 */
export function descendsFrom(pid: number, ancestor: number, parentOf: ParentOf): boolean | null {
  let current = pid;
  for (let depth = 0; depth < MAX_TREE_DEPTH; depth++) {
    if (current === ancestor) return true;
    if (current <= 1) return false;
    const parent = parentOf(current);
    if (parent === null) return null;
    if (parent === current) return false;
    current = parent;
  }
  return null;
}

/** The verdict on one lease's port. */
export interface PortDiagnosis {
  state: PortState;
  /** The process to show: the one that makes the port bound or foreign, or any listener. */
  holder: PortHolderFact | null;
}

/**
 * Classifies a lease's port. A stale lease is stale whatever listens. A lease
 * without an owner counts any listener as bound (berth cannot tell who was
 * meant to bind it). A lease with an owner is bound only by the owner or a
 * descendant (`npm start` -> sh -> node); a process provably outside that tree,
 * or another user's hidden socket, makes it foreign. When the tree cannot be
 * read, berth gives the benefit of the doubt rather than accuse a process.
 *
 * @example
 * diagnosePort({ ownerPid: 10, stale: null }, { holders: [{ pid: 99, command: 'nc -l 3000' }], hidden: [] }, () => 1);
 * // { state: 'foreign', holder: { pid: 99, command: 'nc -l 3000' } }
 */
export function diagnosePort(lease: LeaseFacts, listeners: ListenerFacts, parentOf: ParentOf): PortDiagnosis {
  const first = listeners.holders[0] ?? null;
  if (lease.stale) return { state: lease.stale, holder: first };
  if (listeners.holders.length === 0 && listeners.hidden.length === 0) return { state: 'free', holder: null };
  if (lease.ownerPid === null) return { state: 'bound', holder: first };
  const owner = lease.ownerPid;
  const kin = listeners.holders.map((h) => ({ h, kin: descendsFrom(h.pid, owner, parentOf) }));
  const ours = kin.find((k) => k.kin === true);
  if (ours) return { state: 'bound', holder: ours.h };
  const stranger = kin.find((k) => k.kin === false);
  if (stranger) return { state: 'foreign', holder: stranger.h };
  const unknownTree = kin.find((k) => k.kin === null);
  if (unknownTree) return { state: 'bound', holder: unknownTree.h };
  // Only hidden sockets: another user's socket cannot be the owner's (berth runs as the owner's user).
  const otherUser = listeners.hidden.some((h) => h.reason === 'other-user');
  return { state: otherUser ? 'foreign' : 'bound', holder: null };
}

/** A service's health as `berth check` reports it. */
export interface HealthReport {
  /** `not-running` (nothing listens) is a state, not a failure; only `unhealthy` is. */
  status: HealthStatus;
  /** Why not healthy; `null` when healthy. */
  reason: string | null;
  /** Milliseconds the check took; `null` when no check ran. */
  latencyMs: number | null;
}

/**
 * The health of a port in `state` when no check should run, or `null` when
 * one should. Nothing listening is `not-running`, checks or not. Checking a
 * foreign process's health, or a stale lease's, would vouch for the wrong
 * thing, so those are `unknown`.
 *
 * @example
 * healthWithoutCheck('free', true);
 * // { status: 'not-running', reason: 'nothing listens on the port', latencyMs: null }
 */
export function healthWithoutCheck(state: PortState, hasCheck: boolean): HealthReport | null {
  if (state === 'free')
    return { status: 'not-running', reason: 'nothing listens on the port', latencyMs: null };
  const why = skipReason(state, hasCheck);
  return why === null ? null : { status: 'unknown', reason: why, latencyMs: null };
}

function skipReason(state: Exclude<PortState, 'free'>, hasCheck: boolean): string | null {
  if (!hasCheck) return 'health checks are off';
  switch (state) {
    case 'bound':
      return null;
    case 'foreign':
      return 'the port is held by a process berth did not lease';
    case 'owner-dead':
      return "the lease's owner died";
    case 'expired':
      return 'the lease expired';
  }
}

/** One row of `berth check`. */
export interface ServiceDiagnosis {
  service: string;
  port: number;
  /** The service whose lease the port belongs to: itself, or the root of its `inheritFrom` chain. */
  root: string;
  state: PortState;
  holder: PortHolderFact | null;
  /** The lease's owner pid, `null` for leases without one. */
  ownerPid: number | null;
  health: HealthReport;
}

/**
 * True when the row needs attention: a foreign holder, a stale lease, or a
 * failing health check. A service that is not running is not a problem.
 */
export function isProblem(row: Pick<ServiceDiagnosis, 'state' | 'health'>): boolean {
  return (
    row.state === 'foreign' ||
    row.state === 'owner-dead' ||
    row.state === 'expired' ||
    row.health.status === 'unhealthy'
  );
}

/** What `berth check --fix` does, one entry per root service. */
export interface FixPlan {
  /** Stale leases to release (their inheritors go with them). */
  reclaim: ServiceDiagnosis[];
  /** Leases whose port a foreign process took, to move (autoReassign on). */
  move: ServiceDiagnosis[];
  /** Leases whose port a foreign process took, left alone because autoReassign is off. */
  stuck: ServiceDiagnosis[];
}

/**
 * Plans `--fix` from the rows: one action per root service (an inheriting
 * service moves and is reclaimed with its root).
 *
 * @example
 * planFixes(rows, true).move.map((r) => r.root); // ['server']
 */
export function planFixes(rows: readonly ServiceDiagnosis[], autoReassign: boolean): FixPlan {
  const plan: FixPlan = { reclaim: [], move: [], stuck: [] };
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.root)) continue;
    const list =
      row.state === 'owner-dead' || row.state === 'expired'
        ? plan.reclaim
        : row.state === 'foreign'
          ? autoReassign
            ? plan.move
            : plan.stuck
          : null;
    if (list === null) continue;
    seen.add(row.root);
    list.push(row);
  }
  return plan;
}
