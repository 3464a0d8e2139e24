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
  unknownServiceError,
} from './decisions.js';
import { inheritanceRoot, PRIORITY_RANK, planningOrder } from './order.js';
import {
  type Chooser,
  DEFAULT_POOL,
  ephemeralWarning,
  type PortPolicy,
  poolOrder,
  rangeOrder,
  refusal,
} from './policy.js';
import type {
  Assignment,
  ConflictStrategy,
  Decision,
  Lease,
  Move,
  Plan,
  PortSource,
  ServiceSpec,
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
  strategy: ConflictStrategy;
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
  const known = input.services.map((s) => s.name);
  for (const target of input.targets) {
    if (!known.includes(target)) throw unknownServiceError(target, known);
  }
  return new Planning(input).run();
}

/** The ports one service passed over while it looked for one, and what stood in the way. */
class Attempt {
  readonly skips: Skip[] = [];
  readonly tally = emptyTally();

  skip(port: number, reason: string, obstacle: Obstacle): void {
    if (this.skips.some((s) => s.port === port)) return; // the sticky port may also be a preferred one
    count(this.tally, obstacle, reason);
    if (this.skips.length < MAX_SKIPS_KEPT) this.skips.push({ port, reason });
  }
}

/**
 * One run of the planner. Read top to bottom: {@link run} takes services from the
 * queue (roots in planning order, plus services a stronger one displaced) and gives
 * each a port by the first step that finds one ({@link sticky}, {@link preferred},
 * {@link rangeScan}, {@link emergency}); {@link judge} says whether a port may be taken
 * and {@link take} records it; inheriting services follow their roots at the end.
 */
class Planning {
  private readonly byName: ReadonlyMap<string, ServiceSpec>;
  /** This scope's live root leases by service; a displaced loser leaves it. */
  private readonly existing = new Map<string, Lease>();
  private readonly assigned = new Map<string, Assignment>();
  /** port -> service, within this plan. */
  private readonly claimed = new Map<number, string>();
  /** Ports of our leases that this plan moves away. */
  private readonly vacated = new Set<number>();
  private readonly displacedBy = new Map<string, { by: string; port: number }>();
  private readonly moves: Move[] = [];
  private readonly decisions: Decision[] = [];
  private readonly queue: string[];

  constructor(private readonly input: PlanInput) {
    this.byName = new Map(input.services.map((s) => [s.name, s]));
    for (const lease of input.leases) {
      if (lease.kind === 'service' && lease.inheritsFrom === null) this.existing.set(lease.service, lease);
    }
    this.queue = planningOrder(input.services, input.targets).roots;
  }

  run(): Plan {
    while (this.queue.length > 0) {
      const name = this.queue.shift()!;
      if (!this.assigned.has(name)) this.planService(this.byName.get(name)!);
    }
    this.followRoots();
    const order = new Map(this.input.services.map((s, i) => [s.name, i]));
    const assignments = [...this.assigned.values()].sort(
      (a, b) => order.get(a.service)! - order.get(b.service)!,
    );
    return { assignments, moves: this.moves, decisions: this.decisions };
  }

  /** Steps 2-6 for one root service: the first step that finds a port wins. */
  private planService(spec: ServiceSpec): void {
    const attempt = new Attempt();
    if (this.sticky(spec, attempt) || this.preferred(spec, attempt)) return;
    const { strategy } = this.input;
    if (strategy === 'strict' && spec.preferred.length > 0) throw strictError(spec, attempt.skips);
    if (this.rangeScan(spec, attempt)) return;
    if (strategy === 'strict') throw strictError(spec, attempt.skips);
    if (this.emergency(spec, attempt)) return;
    throw noPortError(spec, attempt.skips, attempt.tally, this.input.policy.pool);
  }

  /** Step 2: the port the service holds (a live lease) or had last time (history), if still free. */
  private sticky(spec: ServiceSpec, attempt: Attempt): boolean {
    const current = this.existing.get(spec.name);
    if (current) {
      const holder = this.input.foreignHeld.get(current.port);
      if (holder === undefined) return this.take(spec, current.port, 'sticky', attempt, { ok: true });
      const reason = `taken by ${holder}, a process berth did not lease`;
      if (!this.input.autoReassign || this.input.strategy === 'strict') {
        throw new BerthError(
          'E_PORT_HELD',
          `${spec.name}'s port ${current.port} is ${reason}. Stop it (berth free ${current.port}) or set autoReassign: true to move ${spec.name}.`,
          { data: { service: spec.name, port: current.port, holder } },
        );
      }
      attempt.skip(current.port, reason, 'held');
      return false;
    }
    const last = this.input.history.get(spec.name);
    if (last === undefined) return false;
    const v = this.judge(spec, last, true);
    if (v.ok) return this.take(spec, last, 'sticky', attempt, v);
    attempt.skip(last, v.reason, v.obstacle);
    return false;
  }

  /** Step 3: the preferred ports, in order. */
  private preferred(spec: ServiceSpec, attempt: Attempt): boolean {
    for (const port of spec.preferred) {
      const v = this.judge(spec, port, true);
      if (v.ok) return this.take(spec, port, 'preferred', attempt, v);
      attempt.skip(port, v.reason, v.obstacle);
    }
    return false;
  }

  /**
   * Step 4: the range over the snapshot, ports outside the ephemeral range first (no
   * bind per port: the composition confirms the pick).
   */
  private rangeScan(spec: ServiceSpec, attempt: Attempt): boolean {
    if (!spec.range) return false;
    // A service that names no port scans the pool: that is berth's pick, by the pool's rules.
    const chooser: Chooser =
      spec.range.min === DEFAULT_POOL.min && spec.range.max === DEFAULT_POOL.max ? 'berth' : 'user';
    for (const port of rangeOrder(spec.range, this.input.policy)) {
      if (spec.preferred.includes(port)) continue;
      const v = this.judge(spec, port, false, chooser);
      if (v.ok) return this.take(spec, port, 'range_scan', attempt, v);
      attempt.skip(port, v.reason, v.obstacle);
    }
    return false;
  }

  /** Step 5: the pool, outside the service's own range, by the pool's rules (berth's own pick). */
  private emergency(spec: ServiceSpec, attempt: Attempt): boolean {
    for (const port of poolOrder(this.input.policy)) {
      if (spec.range && port >= spec.range.min && port <= spec.range.max) continue;
      if (spec.preferred.includes(port)) continue;
      const v = this.judge(spec, port, false, 'berth');
      if (v.ok) return this.take(spec, port, 'emergency', attempt, v);
      count(attempt.tally, v.obstacle, v.reason);
    }
    return false;
  }

  private isOurs(lease: Lease): boolean {
    const { scope } = this.input;
    return lease.kind === 'service' && lease.dir === scope.dir && lease.environment === scope.environment;
  }

  /**
   * Can `spec` take `port`? Pure judgement over the snapshot and this plan's claims.
   * Longer than most: each branch is one rule of the strategies, in the order they apply.
   */
  private judge(spec: ServiceSpec, port: number, firstChoice: boolean, chooser: Chooser = 'user'): Verdict {
    const { input } = this;
    const refused = refusal(port, spec, input.policy, chooser);
    if (refused)
      return { ok: false, reason: refused, obstacle: refused === 'excluded' ? 'excluded' : 'refused' };
    if (input.avoid.has(port)) return { ok: false, reason: 'in use (bind probe failed)', obstacle: 'held' };
    const foreign = input.foreignHeld.get(port);
    if (foreign !== undefined)
      return { ok: false, reason: `taken by ${foreign}, a process berth did not lease`, obstacle: 'held' };
    const claimant = this.claimed.get(port);
    if (claimant !== undefined && claimant !== spec.name) {
      const other = this.byName.get(claimant)!;
      const why = spec.conflicts.includes(claimant) ? 'declared conflict' : `priority ${other.priority}`;
      return { ok: false, reason: `taken by ${claimant} (${why})`, obstacle: 'leased' };
    }
    const lease = this.vacated.has(port) ? undefined : input.occupancy.leaseAt(port);
    if (lease && !(this.isOurs(lease) && lease.service === spec.name)) {
      if (!this.isOurs(lease))
        return { ok: false, reason: describeForeignLease(lease, input.scope.dir), obstacle: 'leased' };
      const holder = this.byName.get(lease.service);
      const bound = input.occupancy.listening(port);
      const mayMove =
        firstChoice &&
        holder !== undefined &&
        !bound &&
        !this.assigned.has(lease.service) &&
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
      if (this.assigned.has(rival) || this.existing.has(rival)) continue;
      if (this.byName.get(rival)?.preferred.includes(port)) {
        return { ok: false, reason: `kept for ${rival} (declared conflict)`, obstacle: 'kept' };
      }
    }
    return { ok: true };
  }

  /** Records `port` for `spec` (displacing a weaker lease if the verdict says so) and its decision line. */
  private take(spec: ServiceSpec, port: number, strategy: PortSource, attempt: Attempt, v: Verdict): true {
    if (v.ok && v.displace) {
      const loser = v.displace;
      this.vacated.add(port);
      this.existing.delete(loser.service);
      this.displacedBy.set(loser.service, { by: spec.name, port });
      this.queue.push(loser.service);
    }
    const previous = this.existing.get(spec.name);
    const displaced = this.displacedBy.get(spec.name);
    const from = previous && previous.port !== port ? previous.port : (displaced?.port ?? null);
    if (previous && previous.port !== port) this.vacated.add(previous.port);
    this.claimed.set(port, spec.name);
    this.assigned.set(spec.name, { service: spec.name, port, strategy, inheritsFrom: null });
    const skipped = attempt.skips.slice(0, MAX_SKIPS_KEPT);
    if (from === null) {
      const warning = ephemeralWarning(port, this.input.policy);
      const message = assignedMessage(spec.name, port, strategy, attempt.skips, warning);
      this.decisions.push({ service: spec.name, port, strategy, from: null, skipped, message });
      return true;
    }
    this.moves.push({ service: spec.name, from, to: port });
    const why = displaced
      ? `${from} taken by ${displaced.by} (${this.input.strategy})`
      : `${from} ${attempt.skips.find((s) => s.port === from)?.reason ?? 'unavailable'}${this.input.autoReassign ? ' (autoReassign)' : ''}`;
    const message = moveMessage(spec.name, from, port, why);
    this.decisions.push({ service: spec.name, port, strategy, from, skipped, message });
    return true;
  }

  /**
   * Step 1, done last: inheriting services share their root's port (displaced
   * losers' inheritors follow them too), each shown right after the service whose
   * port it shares: `websocket inherits port 3000 from server`.
   */
  private followRoots(): void {
    const rootOf = (name: string) => inheritanceRoot(name, this.byName);
    for (const spec of this.input.services) {
      if (spec.inheritFrom === null) continue;
      const root = this.assigned.get(rootOf(spec.name));
      if (!root) continue;
      const target = spec.inheritFrom;
      this.assigned.set(spec.name, {
        service: spec.name,
        port: root.port,
        strategy: 'inherited',
        inheritsFrom: target,
      });
      const after = this.decisions.findLastIndex((d) => rootOf(d.service) === rootOf(spec.name));
      this.decisions.splice(after + 1, 0, {
        service: spec.name,
        port: root.port,
        strategy: 'inherited',
        from: null,
        skipped: [],
        message: inheritedMessage(spec.name, root.port, target),
      });
    }
  }
}

function describeForeignLease(lease: Lease, dir: string): string {
  if (lease.kind === 'adhoc') return `leased by getPort() in pid ${lease.owner?.pid ?? '?'}`;
  const where = lease.dir === dir ? `${lease.environment} environment` : lease.dir;
  return `leased to ${lease.project}/${lease.service} (${where})`;
}
