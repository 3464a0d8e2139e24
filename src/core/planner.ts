/**
 * The allocation planner: a pure function from definitions, leases, what is
 * busy and the policy to assignments and the decisions that explain them.
 * No I/O: the composition (src/compose/manager.ts) gathers the facts and applies the plan.
 */
import { BerthError } from '../errors.js';
import {
  assignedMessage,
  count,
  emptyTally,
  inheritedMessage,
  moveMessage,
  noPortError,
  strictError,
} from './decisions.js';
import { inheritanceRoot, PRIORITY_RANK, planningOrder } from './order.js';
import { type Chooser, ephemeralWarning, type PortPolicy, poolOrder, rangeOrder, refusal } from './policy.js';
import type {
  Assignment,
  AssignStrategy,
  Decision,
  Lease,
  Move,
  Plan,
  ServiceSpec,
  Strategy,
} from './types.js';

/** Read-only view of who occupies ports, over one consistent snapshot. */
export interface Occupancy {
  /** True when a live lease (any project, any kind) owns `port`: cheaper than {@link leaseAt} when only that matters. */
  leased(port: number): boolean;
  /** The live lease at `port` (any project, any kind), if any. */
  leaseAt(port: number): Lease | undefined;
  /** True when something listens on `port` (the kernel's table, or a failed probe). */
  listening(port: number): boolean;
}

/** Everything the planner decides from. */
export interface PlanInput {
  /** Every service of the project (the planner needs the ones it does not plan, for conflicts). */
  services: readonly ServiceSpec[];
  /** Services asked for; their inheritance chains are planned with them. */
  targets: readonly string[];
  strategy: Strategy;
  /** Move a reserved lease whose port a foreign process took (else fail with E_PORT_HELD). */
  autoReassign: boolean;
  /** This checkout and environment: leases here are "ours". */
  scope: { dir: string; environment: string };
  /** Live leases of this scope (service leases; inheriting rows are ignored). */
  leases: readonly Lease[];
  /** Last port of each service of this scope: the sticky source when it holds no lease. */
  history: ReadonlyMap<string, number>;
  /**
   * Ports of this scope's leases that a process berth did not lease has taken,
   * with a description of the holder (`pid 123 (node)`).
   */
  foreignHeld: ReadonlyMap<number, string>;
  occupancy: Occupancy;
  policy: PortPolicy;
  /** Extra ports to avoid, e.g. ones a bind probe just found busy. */
  avoid: ReadonlySet<number>;
}

/** What stood in the way of a port, for the counts of `E_NO_PORT`. */
export type Obstacle = 'leased' | 'held' | 'excluded' | 'refused' | 'kept';

type Verdict = { ok: true; displace?: Lease } | { ok: false; reason: string; obstacle: Obstacle };

interface Skip {
  port: number;
  reason: string;
}

/** Cap on skipped ports kept per decision: a range scan can pass over thousands. */
const MAX_SKIPS_KEPT = 12;

/**
 * Plans ports for `input.targets`.
 *
 * @example
 * const plan = planPorts({ services, targets: ['server'], strategy: 'minimal', ... });
 * plan.decisions[0].message // 'server assigned port 3000 (preferred)'
 */
export function planPorts(input: PlanInput): Plan {
  const byName = new Map(input.services.map((s) => [s.name, s]));
  for (const t of input.targets) {
    if (!byName.has(t)) {
      throw new BerthError('E_UNKNOWN_SERVICE', `unknown service "${t}". Declare it under services.${t}.`, {
        data: { service: t },
      });
    }
  }
  const { roots } = planningOrder(input.services, input.targets);
  const existing = new Map<string, Lease>();
  for (const lease of input.leases) {
    if (lease.kind === 'service' && lease.inheritsFrom === null) existing.set(lease.service, lease);
  }

  const assigned = new Map<string, Assignment>();
  const claimed = new Map<number, string>(); // port -> service, within this plan
  const vacated = new Set<number>(); // ports of our leases that this plan moves away
  const moves: Move[] = [];
  const decisions: Decision[] = [];
  const queue = [...roots];
  const displacedBy = new Map<string, { by: string; port: number }>();

  const isOurs = (lease: Lease) =>
    lease.kind === 'service' &&
    lease.dir === input.scope.dir &&
    lease.environment === input.scope.environment;

  /** Can `spec` take `port`? Pure judgement over the snapshot and this plan's claims. */
  const judge = (
    spec: ServiceSpec,
    port: number,
    firstChoice: boolean,
    chooser: Chooser = 'user',
  ): Verdict => {
    const refused = refusal(port, spec, input.policy, chooser);
    if (refused)
      return { ok: false, reason: refused, obstacle: refused === 'excluded' ? 'excluded' : 'refused' };
    if (input.avoid.has(port)) return { ok: false, reason: 'in use (bind probe failed)', obstacle: 'held' };
    const foreign = input.foreignHeld.get(port);
    if (foreign !== undefined)
      return { ok: false, reason: `taken by ${foreign}, a process berth did not lease`, obstacle: 'held' };
    const claimant = claimed.get(port);
    if (claimant !== undefined && claimant !== spec.name) {
      const other = byName.get(claimant)!;
      const why = spec.conflicts.includes(claimant) ? 'declared conflict' : `priority ${other.priority}`;
      return { ok: false, reason: `taken by ${claimant} (${why})`, obstacle: 'leased' };
    }
    const lease = vacated.has(port) ? undefined : input.occupancy.leaseAt(port);
    if (lease && !(isOurs(lease) && lease.service === spec.name)) {
      if (!isOurs(lease))
        return { ok: false, reason: describeForeignLease(lease, input.scope.dir), obstacle: 'leased' };
      const holder = byName.get(lease.service);
      const bound = input.occupancy.listening(port);
      const mayMove =
        firstChoice &&
        holder !== undefined &&
        !bound &&
        !assigned.has(lease.service) &&
        (input.strategy === 'aggressive' ||
          (input.strategy === 'minimal' && PRIORITY_RANK[holder.priority] < PRIORITY_RANK[spec.priority]));
      if (mayMove) return { ok: true, displace: lease };
      return {
        ok: false,
        reason: `leased to ${lease.service}${bound ? ', which is listening' : ''}`,
        obstacle: 'leased',
      };
    }
    if (!lease && input.occupancy.listening(port)) {
      return { ok: false, reason: 'in use by a process berth did not lease', obstacle: 'held' };
    }
    for (const rival of spec.conflicts) {
      if (assigned.has(rival) || existing.has(rival)) continue;
      const rivalSpec = byName.get(rival);
      if (rivalSpec?.preferred.includes(port)) {
        return { ok: false, reason: `kept for ${rival} (declared conflict)`, obstacle: 'kept' };
      }
    }
    return { ok: true };
  };

  const take = (spec: ServiceSpec, port: number, strategy: AssignStrategy, skips: Skip[], v: Verdict) => {
    if (v.ok && v.displace) {
      const loser = v.displace;
      vacated.add(port);
      existing.delete(loser.service);
      displacedBy.set(loser.service, { by: spec.name, port });
      queue.push(loser.service);
    }
    const previous = existing.get(spec.name);
    const displaced = displacedBy.get(spec.name);
    const from = previous && previous.port !== port ? previous.port : (displaced?.port ?? null);
    if (previous && previous.port !== port) vacated.add(previous.port);
    claimed.set(port, spec.name);
    assigned.set(spec.name, { service: spec.name, port, strategy, inheritsFrom: null });
    if (from !== null) {
      moves.push({ service: spec.name, from, to: port });
      const why = displaced
        ? `${from} taken by ${displaced.by} (${input.strategy})`
        : `${from} ${skips.find((s) => s.port === from)?.reason ?? 'unavailable'}${input.autoReassign ? ' (autoReassign)' : ''}`;
      decisions.push({
        service: spec.name,
        port,
        strategy,
        from,
        skipped: skips.slice(0, MAX_SKIPS_KEPT),
        message: moveMessage(spec.name, from, port, why),
      });
    } else {
      decisions.push({
        service: spec.name,
        port,
        strategy,
        from: null,
        skipped: skips.slice(0, MAX_SKIPS_KEPT),
        message: assignedMessage(spec.name, port, strategy, skips, ephemeralWarning(port, input.policy)),
      });
    }
  };

  while (queue.length > 0) {
    const name = queue.shift()!;
    if (assigned.has(name)) continue;
    const spec = byName.get(name)!;
    const skips: Skip[] = [];
    const tally = emptyTally();
    const skip = (port: number, reason: string, obstacle: Obstacle) => {
      if (skips.some((s) => s.port === port)) return; // the sticky port may also be a preferred one
      count(tally, obstacle, reason);
      if (skips.length < MAX_SKIPS_KEPT) skips.push({ port, reason });
    };

    // 1 (inherited) is handled after the roots. 2: sticky.
    const current = existing.get(name);
    if (current) {
      const holder = input.foreignHeld.get(current.port);
      if (holder === undefined) {
        take(spec, current.port, 'sticky', skips, { ok: true });
        continue;
      }
      const reason = `taken by ${holder}, a process berth did not lease`;
      if (!input.autoReassign || input.strategy === 'strict') {
        throw new BerthError(
          'E_PORT_HELD',
          `${name}'s port ${current.port} is ${reason}. Stop it (berth free ${current.port}) or set autoReassign: true to move ${name}.`,
          { data: { service: name, port: current.port, holder } },
        );
      }
      skip(current.port, reason, 'held');
    } else {
      const last = input.history.get(name);
      if (last !== undefined) {
        const v = judge(spec, last, true);
        if (v.ok) {
          take(spec, last, 'sticky', skips, v);
          continue;
        }
        skip(last, v.reason, v.obstacle);
      }
    }

    // 3: preferred, in order.
    let done = false;
    for (const port of spec.preferred) {
      const v = judge(spec, port, true);
      if (v.ok) {
        take(spec, port, 'preferred', skips, v);
        done = true;
        break;
      }
      skip(port, v.reason, v.obstacle);
    }
    if (done) continue;
    if (input.strategy === 'strict' && spec.preferred.length > 0) throw strictError(spec, skips);

    // 4: range scan over the snapshot (no bind per port: the composition confirms the pick),
    // ports outside the ephemeral range first.
    if (spec.range) {
      for (const port of rangeOrder(spec.range, input.policy)) {
        if (spec.preferred.includes(port)) continue;
        const v = judge(spec, port, false);
        if (v.ok) {
          take(spec, port, 'range_scan', skips, v);
          done = true;
          break;
        }
        skip(port, v.reason, v.obstacle);
      }
    }
    if (done) continue;
    if (input.strategy === 'strict') throw strictError(spec, skips);

    // 5: emergency, from the pool (berth's own pick: the pool's rules), outside the service's range.
    const pool = input.policy.pool;
    for (const port of poolOrder(input.policy)) {
      if (spec.range && port >= spec.range.min && port <= spec.range.max) continue;
      if (spec.preferred.includes(port)) continue;
      const v = judge(spec, port, false, 'berth');
      if (v.ok) {
        take(spec, port, 'emergency', skips, v);
        done = true;
        break;
      }
      count(tally, v.obstacle, v.reason);
    }
    if (!done) throw noPortError(spec, skips, tally, pool);
  }

  // 1: inherited services share their root's port (displaced losers' inheritors follow them too).
  const inheritors = input.services.filter(
    (s) => s.inheritFrom !== null && assigned.has(inheritanceRoot(s.name, byName)),
  );
  for (const { name } of inheritors) {
    const spec = byName.get(name)!;
    const target = spec.inheritFrom!;
    const rootPort = resolveInherited(target, byName, assigned);
    assigned.set(name, { service: name, port: rootPort, strategy: 'inherited', inheritsFrom: target });
    // Shown right after the service whose port it shares: `websocket inherits port 3000 from server`.
    const root = inheritanceRoot(name, byName);
    const after = decisions.findLastIndex((d) => inheritanceRoot(d.service, byName) === root);
    decisions.splice(after + 1, 0, {
      service: name,
      port: rootPort,
      strategy: 'inherited',
      from: null,
      skipped: [],
      message: inheritedMessage(name, rootPort, target),
    });
  }

  const order = new Map(input.services.map((s, i) => [s.name, i]));
  const assignments = [...assigned.values()].sort((a, b) => order.get(a.service)! - order.get(b.service)!);
  return { assignments, moves, decisions };
}

function resolveInherited(
  target: string,
  byName: ReadonlyMap<string, ServiceSpec>,
  assigned: ReadonlyMap<string, Assignment>,
): number {
  let name = target;
  for (let hops = 0; hops <= byName.size; hops++) {
    const a = assigned.get(name);
    if (a && a.inheritsFrom === null) return a.port;
    const next = byName.get(name)?.inheritFrom;
    if (!next) break;
    name = next;
  }
  const root = assigned.get(name);
  if (root) return root.port;
  // Unreachable for validated configs: validation rejects cycles and missing targets.
  throw new BerthError('E_CONFIG', `cannot resolve the port ${target} shares. Check inheritFrom chains.`);
}

function describeForeignLease(lease: Lease, dir: string): string {
  if (lease.kind === 'adhoc') return `leased by getPort() in pid ${lease.owner?.pid ?? '?'}`;
  const where = lease.dir === dir ? `${lease.environment} environment` : lease.dir;
  return `leased to ${lease.project}/${lease.service} (${where})`;
}
