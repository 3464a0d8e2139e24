/**
 * `berth up`'s decisions, pure: which units make up the stack and in what
 * order, one state machine per unit, and what to start, stop or restart next,
 * from the units' states and the dependency graph. The runner
 * (src/compose/stack/) does the I/O and asks these.
 */
import { BerthError } from '../errors.js';
import type { RestartPolicy, RunSpec, ServiceSpec, StopSignal } from './types.js';

/** Signals a service may name as `stopSignal`. */
export const STOP_SIGNALS: readonly StopSignal[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGKILL',
];

/** The `restart` policies. */
export const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-failure', 'always'];

/** Milliseconds between a service's stop signal and SIGKILL, unless it sets `stopTimeout`. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** The first restart waits this long (ms); each one after waits twice the one before. */
export const RESTART_BACKOFF_FIRST_MS = 1_000;

/** No restart waits longer than this (ms). */
export const RESTART_BACKOFF_MAX_MS = 30_000;

/**
 * The run settings of a service `berth up` does not run (no `command`): the
 * defaults, for configs built in code and tests.
 *
 * @example
 * const spec: ServiceSpec = { name: 'db', ..., run: leaseOnly('/work/shop') };
 */
export function leaseOnly(cwd: string): RunSpec {
  return {
    command: null,
    cwd,
    env: {},
    dependsOn: [],
    ready: null,
    portArgs: true,
    restart: 'no',
    maxRestarts: null,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
  };
}

/**
 * Where a unit is in its life: `pending` (waiting for its dependencies),
 * `starting` (spawned, not ready yet), `ready`, `restarting` (exited, waiting
 * out its back-off), `exited` (gone and not coming back: a finished one-shot,
 * or a failure that stops the stack), `stopping` (signalled), `stopped`.
 */
export type RunPhase = 'pending' | 'starting' | 'ready' | 'restarting' | 'exited' | 'stopping' | 'stopped';

/**
 * What `berth up` drives: a `process` it starts (a service with a command,
 * serving the services that inherit its port without one), or an `external`
 * service without a command that a process waits for: berth only watches it
 * become ready.
 */
export interface StackUnit {
  /** The service the unit is named after (the one with the command). */
  name: string;
  kind: 'process' | 'external';
  /** Units that must be ready before this one starts. */
  dependsOn: readonly string[];
  /** The services this unit stands for: itself, then those it serves, in declaration order. */
  serves: readonly string[];
}

/** The units of one `berth up`, in start order, and which unit each service belongs to. */
export interface StackGraph {
  /** Dependencies first; otherwise in declaration order. */
  units: readonly StackUnit[];
  /** Service name -> name of the unit that runs (or watches) it, for every service of the stack. */
  unitOf: ReadonlyMap<string, string>;
}

/** The unit behind a service: its own when it has a command, else its inheritance target's, else itself as external. */
function unitName(name: string, byName: ReadonlyMap<string, ServiceSpec>, seen = new Set<string>()): string {
  const spec = byName.get(name)!;
  if (spec.run.command !== null || spec.inheritFrom === null || seen.has(name)) return name;
  seen.add(name);
  return byName.has(spec.inheritFrom) ? unitName(spec.inheritFrom, byName, seen) : name;
}

/**
 * The stack for `selected` (every service with a command when `null`): those
 * units and, transitively, what they depend on. A service without a command
 * is served by the process of the service it inherits from; one that inherits
 * nothing is external. Names must be services of the config (checked before).
 * Throws `E_USAGE` when a selected service has nothing to run.
 *
 * @example
 * stackGraph(config.services, null).units.map((u) => u.name) // ['db', 'api', 'web']
 */
export function stackGraph(services: readonly ServiceSpec[], selected: readonly string[] | null): StackGraph {
  const byName = new Map(services.map((s) => [s.name, s]));
  const unitOfAll = new Map(services.map((s) => [s.name, unitName(s.name, byName)]));
  const isProcess = (unit: string) => byName.get(unit)!.run.command !== null;
  const roots = selected ?? services.filter((s) => s.run.command !== null).map((s) => s.name);
  if (roots.length === 0) {
    throw new BerthError(
      'E_USAGE',
      'no service has a command, so berth up has nothing to run. Add "command" to the services it should start (e.g. "command": "npm run dev").',
    );
  }
  for (const name of roots) {
    if (!isProcess(unitOfAll.get(name)!)) {
      throw new BerthError(
        'E_USAGE',
        `${name} has no command, so berth up cannot start it. Add "command" to services.${name}, or start it yourself (its port: \`berth get ${name}\`).`,
        { data: { service: name } },
      );
    }
  }
  const depsOf = (unit: string): string[] => {
    if (!isProcess(unit)) return [];
    const deps = new Set<string>();
    for (const s of services) {
      if (unitOfAll.get(s.name) !== unit) continue;
      const named = [...s.run.dependsOn, ...(s.inheritFrom === null ? [] : [s.inheritFrom])];
      for (const dep of named) {
        const target = unitOfAll.get(dep);
        if (target !== undefined && target !== unit) deps.add(target);
      }
    }
    return services.map((s) => s.name).filter((n) => deps.has(n));
  };
  const included = new Set<string>();
  const queue = roots.map((r) => unitOfAll.get(r)!);
  while (queue.length > 0) {
    const unit = queue.shift()!;
    if (included.has(unit)) continue;
    included.add(unit);
    queue.push(...depsOf(unit));
  }
  const units = new Map<string, StackUnit>();
  for (const s of services) {
    if (!included.has(s.name)) continue;
    units.set(s.name, {
      name: s.name,
      kind: isProcess(s.name) ? 'process' : 'external',
      dependsOn: depsOf(s.name),
      serves: services
        .filter((x) => unitOfAll.get(x.name) === s.name && (x.name === s.name || isProcess(s.name)))
        .map((x) => x.name),
    });
  }
  const unitOf = new Map<string, string>();
  for (const unit of units.values()) for (const name of unit.serves) unitOf.set(name, unit.name);
  return { units: startOrder([...units.values()]), unitOf };
}

/** Kahn's order, dependencies first, ties in declaration order; a leftover cycle (the config forbids one) goes last as declared. */
function startOrder(units: readonly StackUnit[]): StackUnit[] {
  const placed = new Set<string>();
  const out: StackUnit[] = [];
  while (out.length < units.length) {
    const next =
      units.find((u) => !placed.has(u.name) && u.dependsOn.every((d) => placed.has(d))) ??
      units.find((u) => !placed.has(u.name))!;
    placed.add(next.name);
    out.push(next);
  }
  return out;
}

/** One unit's state: its phase, how often it was restarted, and its last exit code (`null`: none yet, or ended by a signal). */
export interface UnitState {
  phase: RunPhase;
  restarts: number;
  exitCode: number | null;
}

/** What happens to a unit; {@link advance} moves its state machine. */
export type UnitEvent =
  /** Its process was spawned (or, for an external unit, berth began watching it). */
  | { type: 'start' }
  | { type: 'ready' }
  /** Its process exited: `code` is `null` when a signal ended it. */
  | { type: 'exit'; code: number | null }
  /** It waits out a back-off before starting again (a restart, counted). */
  | { type: 'restart' }
  /** It goes back to waiting without counting a restart: its port was taken and it moves. */
  | { type: 'replan' }
  /** The stack stops: a running unit is signalled, one that is not running is simply stopped. */
  | { type: 'stop' }
  /** A signalled unit is gone. */
  | { type: 'stopped' };

/** The state every unit starts in. */
export const PENDING: UnitState = { phase: 'pending', restarts: 0, exitCode: null };

const RUNNING: ReadonlySet<RunPhase> = new Set(['starting', 'ready']);

/**
 * The state machine of one unit. An event its phase cannot take is a bug in
 * the runner, so it throws rather than guess.
 *
 * @example
 * advance(PENDING, { type: 'start' }) // { phase: 'starting', restarts: 0, exitCode: null }
 */
export function advance(state: UnitState, event: UnitEvent): UnitState {
  const { phase } = state;
  const to = (next: RunPhase, more: Partial<UnitState> = {}): UnitState => ({
    ...state,
    phase: next,
    ...more,
  });
  switch (event.type) {
    case 'start':
      if (phase === 'pending' || phase === 'restarting') return to('starting');
      break;
    case 'ready':
      if (phase === 'starting') return to('ready');
      break;
    case 'exit':
      if (RUNNING.has(phase)) return to('exited', { exitCode: event.code });
      if (phase === 'stopping') return to('stopped', { exitCode: event.code });
      break;
    case 'restart':
      if (phase === 'exited') return to('restarting', { restarts: state.restarts + 1 });
      break;
    case 'replan':
      if (phase === 'starting' || phase === 'exited' || phase === 'restarting') return to('pending');
      break;
    case 'stop':
      if (RUNNING.has(phase)) return to('stopping');
      if (phase === 'pending' || phase === 'restarting' || phase === 'exited') return to('stopped');
      if (phase === 'stopping' || phase === 'stopped') return state;
      break;
    case 'stopped':
      if (phase === 'stopping' || phase === 'stopped') return to('stopped');
      break;
  }
  throw new Error(`berth up: a unit in phase "${phase}" cannot take "${event.type}"`);
}

/** The phase of `unit`, `pending` when it has no state yet. */
function phaseOf(states: ReadonlyMap<string, UnitState>, unit: string): RunPhase {
  return states.get(unit)?.phase ?? 'pending';
}

/** The units that list `unit` in their `dependsOn`. */
export function dependentsOf(unit: string, graph: StackGraph): string[] {
  return graph.units.filter((u) => u.dependsOn.includes(unit)).map((u) => u.name);
}

/**
 * Units to start now: pending, with every dependency ready, in start order.
 * Independent units come out together, so they start in parallel.
 *
 * @example
 * nextToStart(new Map([['db', { phase: 'ready', restarts: 0, exitCode: null }]]), graph) // ['api', 'cache']
 */
export function nextToStart(states: ReadonlyMap<string, UnitState>, graph: StackGraph): string[] {
  return graph.units
    .filter((u) => phaseOf(states, u.name) === 'pending')
    .filter((u) => u.dependsOn.every((d) => phaseOf(states, d) === 'ready'))
    .map((u) => u.name);
}

/**
 * Units to signal now, while the stack stops: running ones (starting or ready)
 * whose dependents have all gone (stopped, exited, or never started). Reverse
 * dependency order falls out: `db` waits until `api` is gone.
 *
 * @example
 * nextToStop(states, graph) // ['web'], then ['api'], then ['db']
 */
export function nextToStop(states: ReadonlyMap<string, UnitState>, graph: StackGraph): string[] {
  const gone = (unit: string) => !RUNNING.has(phaseOf(states, unit)) && phaseOf(states, unit) !== 'stopping';
  return graph.units
    .filter((u) => RUNNING.has(phaseOf(states, u.name)))
    .filter((u) => dependentsOf(u.name, graph).every(gone))
    .map((u) => u.name)
    .reverse();
}

/** True when every unit is ready, or finished its work (a one-shot that exited 0): time for the summary. */
export function allUp(states: ReadonlyMap<string, UnitState>, graph: StackGraph): boolean {
  return graph.units.every((u) => {
    const s = states.get(u.name);
    return s !== undefined && (s.phase === 'ready' || (s.phase === 'exited' && s.exitCode === 0));
  });
}

/** True when nothing of the stack runs or will run again: every unit stopped or exited. */
export function allGone(states: ReadonlyMap<string, UnitState>, graph: StackGraph): boolean {
  return graph.units.every((u) => {
    const phase = phaseOf(states, u.name);
    return phase === 'stopped' || phase === 'exited';
  });
}

/**
 * How long to wait before restart number `restarts + 1`: 1 s, doubling, at most 30 s.
 *
 * @example
 * [0, 1, 2, 5, 9].map(backoffMs) // [1000, 2000, 4000, 30000, 30000]
 */
export function backoffMs(restarts: number): number {
  const exponent = Math.min(Math.max(0, restarts), 16);
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_FIRST_MS * 2 ** exponent);
}

/** What is known when a unit's process exits on its own (not stopped by berth). */
export interface ExitFacts {
  restart: RestartPolicy;
  maxRestarts: number | null;
  /** Restarts made so far. */
  restarts: number;
  /** Exit code, `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, `null` when it exited. */
  signal: string | null;
  /** Units that depend on it. */
  dependents: readonly string[];
}

/** What to do about an exit: restart after a back-off, accept it (a finished one-shot), or stop the whole stack. */
export type ExitDecision =
  | { action: 'restart'; delayMs: number }
  | { action: 'done' }
  | { action: 'stop-stack'; reason: string };

/** `code 1`, `signal SIGSEGV`. */
export function describeExit(code: number | null, signal: string | null): string {
  return code === null ? `signal ${signal ?? 'unknown'}` : `code ${code}`;
}

/**
 * Decides about a unit whose process exited by itself. `always` and
 * `on-failure` (after a non-zero exit) restart, until `maxRestarts` restarts
 * were made; without a restart, an exit 0 of a unit nothing depends on is a
 * finished one-shot (migrations), and anything else stops the stack, as
 * foreman does. The reason names what happened.
 *
 * @example
 * whenExited({ restart: 'no', maxRestarts: null, restarts: 0, code: 1, signal: null, dependents: [] })
 * // { action: 'stop-stack', reason: 'exited with code 1 (restart: "no")' }
 */
export function whenExited(facts: ExitFacts): ExitDecision {
  const failed = facts.code !== 0;
  const how = describeExit(facts.code, facts.signal);
  const wantsRestart = facts.restart === 'always' || (facts.restart === 'on-failure' && failed);
  if (wantsRestart) {
    if (facts.maxRestarts !== null && facts.restarts >= facts.maxRestarts) {
      return {
        action: 'stop-stack',
        reason: `exited with ${how} after ${facts.restarts} restart${facts.restarts === 1 ? '' : 's'} (maxRestarts ${facts.maxRestarts})`,
      };
    }
    return { action: 'restart', delayMs: backoffMs(facts.restarts) };
  }
  if (!failed && facts.dependents.length === 0) return { action: 'done' };
  if (!failed) {
    const who = facts.dependents.join(', ');
    return {
      action: 'stop-stack',
      reason: `exited with code 0, but ${who} ${facts.dependents.length === 1 ? 'depends' : 'depend'} on it (restart: "${facts.restart}")`,
    };
  }
  return { action: 'stop-stack', reason: `exited with ${how} (restart: "${facts.restart}")` };
}
