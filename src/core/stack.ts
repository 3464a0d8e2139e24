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

/** What the stack machine needs to know of a unit beyond the graph: its restart policy, and whether it may move. */
export interface UnitRules {
  restart: RestartPolicy;
  maxRestarts: number | null;
  /** It shares its port through `inheritFrom`, so it cannot move to another. */
  inherits: boolean;
}

/** The rules of one stack: its graph, each unit's rules, and whether a taken port may move (`autoReassign`). */
export interface StackRules {
  graph: StackGraph;
  units: ReadonlyMap<string, UnitRules>;
  autoReassign: boolean;
}

/** The rules of `graph` from the config's services. */
export function stackRules(
  graph: StackGraph,
  services: readonly ServiceSpec[],
  autoReassign: boolean,
): StackRules {
  const units = new Map<string, UnitRules>();
  for (const s of services) {
    units.set(s.name, {
      restart: s.run.restart,
      maxRestarts: s.run.maxRestarts,
      inherits: s.inheritFrom !== null,
    });
  }
  return { graph, units, autoReassign };
}

/** One unit as the stack machine holds it: its life ({@link UnitState}) and what the runner does to it meanwhile. */
export interface UnitRun extends UnitState {
  /** A process of it runs (the runner holds its handle). */
  spawned: boolean;
  /** Being leased and spawned. */
  launching: boolean;
  /** Being stopped off a port a stranger took. */
  moving: boolean;
  /** Who took its port when it went back to pending for that; its next start says so. */
  takenBy: string | null;
  /** When its current start began, on the runner's clock. */
  startedAt: number | null;
  /** Milliseconds its last start took to be ready. */
  readyMs: number | null;
}

/** A whole stack's state: every unit, and where the stack is. */
export interface StackState {
  units: ReadonlyMap<string, UnitRun>;
  /** `stopping`: on request or after a failure; `finishing`: leases being released, nothing more happens. */
  mode: 'running' | 'stopping' | 'finishing';
  /** The `up` summary went out. */
  summarised: boolean;
  /** The unit that stopped the stack, and why. */
  failure: { service: string; reason: string } | null;
}

/** What the stack learns: from the user (stop), from a unit's process, or from the runner's work settling. */
export type StackInput =
  | { type: 'begin' }
  | { type: 'stop' }
  | { type: 'fail'; unit: string; reason: string }
  /** An external unit is being watched. */
  | { type: 'watched'; unit: string }
  /** A unit's process was spawned at `at`. */
  | { type: 'started'; unit: string; at: number }
  /** A launch (lease, spawn) settled, however it went. */
  | { type: 'launched'; unit: string }
  | { type: 'ready'; unit: string; at: number }
  /** Its back-off is over. */
  | { type: 'restart-due'; unit: string }
  /** A stranger holds its port while it starts: the runner stops its process. */
  | { type: 'move'; unit: string }
  /** The process a move stopped is gone. */
  | { type: 'move-stopped'; unit: string }
  /** The move ended: with `taken`, its leases are back with berth up and it goes back to pending (or fails). */
  | { type: 'move-done'; unit: string; taken: Taken | null }
  /** Its process is gone; what that means comes with `exit`. */
  | { type: 'reaped'; unit: string }
  /**
   * Its process exited (its group is gone). `taken`: it failed while a
   * stranger held its port, so it lost the race for its bind.
   */
  | { type: 'exit'; unit: string; code: number | null; signal: string | null; taken: Taken | null };

/** A port a stranger holds. */
export interface Taken {
  port: number;
  holder: string;
}

/** What the stack tells the user; the runner emits these as they are. */
export type StackNotice =
  | { type: 'exited'; service: string; code: number | null; signal: string | null }
  | { type: 'stopped'; service: string; code: number | null; signal: string | null }
  | { type: 'restarting'; service: string; delayMs: number; restarts: number; maxRestarts: number | null }
  | { type: 'killed'; service: string; afterMs: number }
  | { type: 'failed'; service: string; reason: string };

/** What the runner must do, in order. */
export type StackEffect =
  /** Write the unit's state where other processes see it. */
  | { type: 'record'; unit: string }
  | { type: 'notice'; notice: StackNotice }
  /** Lease and start the unit (`takenBy`: a stranger took its last port). */
  | { type: 'launch'; unit: string; takenBy: string | null }
  /** Wait `delayMs`, then give `restart-due`. */
  | { type: 'back-off'; unit: string; delayMs: number }
  /** Its stop signal to the unit's process group. */
  | { type: 'signal'; unit: string }
  /** The unit is ready after `ms`: say so. */
  | { type: 'ready'; unit: string; ms: number }
  /** Every unit is up: the summary. */
  | { type: 'summary' }
  /** The stack stops: cancel back-offs and readiness watches. */
  | { type: 'cancel' }
  /** A second stop: SIGKILL to every process still running. */
  | { type: 'kill-all' }
  /** Release the leases and end. */
  | { type: 'finish' };

/** A stack before {@link step} begins it. */
export function initialStack(graph: StackGraph): StackState {
  const fresh: UnitRun = {
    ...PENDING,
    spawned: false,
    launching: false,
    moving: false,
    takenBy: null,
    startedAt: null,
    readyMs: null,
  };
  return {
    units: new Map(graph.units.map((u) => [u.name, fresh])),
    mode: 'running',
    summarised: false,
    failure: null,
  };
}

/** Why a unit whose port a stranger holds cannot move. */
function cannotMove(unit: string, taken: Taken, rules: StackRules): string {
  const why = rules.autoReassign ? `${unit} shares it through inheritFrom` : 'autoReassign is off';
  return `port ${taken.port} is held by ${taken.holder}, a process berth did not start, and ${why}. Free the port (\`berth free ${taken.port}\`)${rules.autoReassign ? '' : ' or set autoReassign: true'}`;
}

/**
 * The stack's state machine: the next state and what the runner must do.
 * Pure: the runner feeds it what happened (with the time) and carries out
 * the effects, some of which come back as inputs (a launch settles, a
 * back-off ends). An input the state cannot take is a runner bug: it throws.
 *
 * @example
 * step(initialStack(graph), rules, { type: 'begin' }).effects
 * // [{ type: 'record', unit: 'db' }, ..., { type: 'launch', unit: 'db', takenBy: null }]
 */
export function step(
  state: StackState,
  rules: StackRules,
  input: StackInput,
): { state: StackState; effects: StackEffect[] } {
  const units = new Map(state.units);
  let { mode, summarised, failure } = state;
  const effects: StackEffect[] = [];
  const get = (name: string): UnitRun => {
    const u = units.get(name);
    if (u === undefined) throw new Error(`berth up: no unit "${name}"`);
    return u;
  };
  const patch = (name: string, more: Partial<UnitRun>) => units.set(name, { ...get(name), ...more });
  const move = (name: string, event: UnitEvent, more: Partial<UnitRun> = {}): UnitRun => {
    const next = { ...advance(get(name), event), ...more };
    units.set(name, { ...get(name), ...next });
    effects.push({ type: 'record', unit: name });
    return get(name);
  };
  const notice = (n: StackNotice) => effects.push({ type: 'notice', notice: n });
  const launch = (name: string) => {
    effects.push({ type: 'launch', unit: name, takenBy: get(name).takenBy });
    patch(name, { launching: true, takenBy: null });
  };
  const schedule = () => {
    if (mode !== 'running') return;
    for (const name of nextToStart(units, rules.graph)) {
      const u = get(name);
      if (!u.launching && !u.moving) launch(name);
    }
  };
  const summarise = () => {
    if (summarised || mode !== 'running' || !allUp(units, rules.graph)) return;
    summarised = true;
    effects.push({ type: 'summary' });
  };
  const finish = () => {
    if (mode === 'finishing') return;
    mode = 'finishing';
    effects.push({ type: 'finish' });
  };
  const continueStop = () => {
    if (mode !== 'stopping') return;
    for (let next = nextToStop(units, rules.graph); next.length > 0; next = nextToStop(units, rules.graph)) {
      for (const name of next) {
        move(name, { type: 'stop' });
        if (get(name).spawned) effects.push({ type: 'signal', unit: name });
        else move(name, { type: 'stopped' });
      }
    }
    if (allGone(units, rules.graph) && [...units.values()].every((u) => !u.launching)) finish();
  };
  const stop = () => {
    if (mode !== 'running') {
      for (const [name, u] of units) {
        if (u.spawned && RUNNING.has(u.phase)) {
          move(name, { type: 'stop' });
          notice({ type: 'killed', service: name, afterMs: 0 });
        }
      }
      effects.push({ type: 'kill-all' });
      return;
    }
    mode = 'stopping';
    effects.push({ type: 'cancel' });
    for (const [name, u] of units) {
      if (u.phase === 'pending' || u.phase === 'restarting') move(name, { type: 'stop' });
    }
    continueStop();
  };
  const fail = (name: string, reason: string) => {
    if (mode !== 'running') return;
    if (failure === null) {
      failure = { service: name, reason };
      notice({ type: 'failed', service: name, reason });
    }
    stop();
  };
  /** A stranger holds the port: back to pending, moving at the next start, or fail. */
  const replan = (name: string, taken: Taken) => {
    if (rules.units.get(name)?.inherits || !rules.autoReassign) {
      fail(name, cannotMove(name, taken, rules));
      return;
    }
    move(name, { type: 'replan' }, { takenBy: taken.holder });
  };
  const exit = (name: string, code: number | null, signal: string | null, taken: Taken | null) => {
    const u = get(name);
    patch(name, { spawned: false });
    if (u.phase === 'stopping') {
      move(name, { type: 'exit', code });
      notice({ type: 'stopped', service: name, code, signal });
      continueStop();
      return;
    }
    if (u.phase === 'stopped') {
      continueStop();
      return;
    }
    if (taken !== null && mode === 'running') {
      replan(name, taken);
      schedule();
      return;
    }
    const exited = move(name, { type: 'exit', code });
    notice({ type: 'exited', service: name, code, signal });
    if (mode !== 'running') {
      continueStop();
      return;
    }
    const r = rules.units.get(name);
    const decision = whenExited({
      restart: r?.restart ?? 'no',
      maxRestarts: r?.maxRestarts ?? null,
      restarts: exited.restarts,
      code,
      signal,
      dependents: dependentsOf(name, rules.graph),
    });
    if (decision.action === 'restart') {
      const next = move(name, { type: 'restart' });
      notice({
        type: 'restarting',
        service: name,
        delayMs: decision.delayMs,
        restarts: next.restarts,
        maxRestarts: r?.maxRestarts ?? null,
      });
      effects.push({ type: 'back-off', unit: name, delayMs: decision.delayMs });
    } else if (decision.action === 'done') {
      summarise();
      if (allGone(units, rules.graph)) finish();
    } else {
      fail(name, decision.reason);
    }
  };

  switch (input.type) {
    case 'begin':
      for (const name of units.keys()) effects.push({ type: 'record', unit: name });
      schedule();
      break;
    case 'stop':
      stop();
      break;
    case 'fail':
      fail(input.unit, input.reason);
      break;
    case 'watched':
      move(input.unit, { type: 'start' });
      break;
    case 'started':
      move(input.unit, { type: 'start' }, { spawned: true, startedAt: input.at });
      break;
    case 'launched':
      patch(input.unit, { launching: false });
      continueStop();
      break;
    case 'ready': {
      const startedAt = get(input.unit).startedAt ?? input.at;
      move(input.unit, { type: 'ready' }, { readyMs: input.at - startedAt });
      effects.push({ type: 'ready', unit: input.unit, ms: input.at - startedAt });
      summarise();
      schedule();
      break;
    }
    case 'restart-due':
      if (mode === 'running') launch(input.unit);
      break;
    case 'move':
      patch(input.unit, { moving: true });
      break;
    case 'move-stopped':
      patch(input.unit, { spawned: false });
      if (mode !== 'running' && get(input.unit).phase === 'stopping') {
        // The stack stopped meanwhile: the unit is gone, not moved.
        move(input.unit, { type: 'exit', code: null });
        notice({ type: 'stopped', service: input.unit, code: null, signal: null });
      }
      break;
    case 'move-done':
      if (mode === 'running' && input.taken !== null) replan(input.unit, input.taken);
      patch(input.unit, { moving: false });
      continueStop();
      schedule();
      break;
    case 'reaped':
      patch(input.unit, { spawned: false });
      break;
    case 'exit':
      exit(input.unit, input.code, input.signal, input.taken);
      break;
  }
  return { state: { units, mode, summarised, failure }, effects };
}
