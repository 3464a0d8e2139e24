/**
 * The stack runner: one `berth up`'s units driven through their state
 * machines (src/core/stack.ts). It asks the core what to start or stop next
 * and wires the small units of this folder to each process's events:
 * readiness (readiness.ts), output lines (lines.ts), restarts (restart.ts),
 * the stop of a group (stop.ts), the run rows (record.ts). Leases follow the
 * processes: each unit's leases belong to its process while it runs, to
 * berth up between runs, and are released when the stack is down. It is the
 * one file that knows every unit, which is why it is the longest of the folder.
 */

import { serviceUrl } from '../../core/endpoints.js';
import type { ProcessExit, ProcessGroupRef, SpawnedProcess } from '../../core/facts.js';
import type { PortArgsPlan } from '../../core/port-args.js';
import {
  advance,
  allGone,
  allUp,
  nextToStart,
  nextToStop,
  PENDING,
  type StackGraph,
  type StackUnit,
  type UnitEvent,
  type UnitState,
} from '../../core/stack.js';
import type { LeaseOwner, ServiceSpec } from '../../core/types.js';
import { wrongPortFix } from '../../core/wrong-port.js';
import { isBerthError } from '../../errors.js';
import type { PortManager } from '../manager.js';
import { serviceCommand } from '../port-args.js';
import { watchWrongPort } from '../wrong-port.js';
import { serviceEnv } from './env.js';
import type { StackEvent } from './events.js';
import { attachLines } from './lines.js';
import { portHolder, probeReadiness, type Readiness, waitUntilReady } from './readiness.js';
import { commandCheck, OutputMatcher } from './ready-checks.js';
import type { RunRecorder } from './record.js';
import { decideExit, RestartTimers } from './restart.js';
import { stopGroup } from './stop.js';
import { commandText, upServices } from './summary.js';

/** How the stack ended: 0 after a stop on request (or when every one-shot finished), 1 when a service stopped it. */
export interface StackOutcome {
  code: 0 | 1;
  failed: { service: string; reason: string } | null;
}

/** What the runner works with. */
export interface RunnerContext {
  pm: PortManager;
  graph: StackGraph;
  /** Every assigned service's port; updated when a service moves. */
  ports: Map<string, number>;
  emit: (event: StackEvent) => void;
  /** The environment commands inherit (berth's own). */
  env: Readonly<Record<string, string | undefined>>;
  recorder: RunRecorder;
  /** berth up itself: owner of the leases between runs, and the root of the stack's process tree. */
  self: LeaseOwner;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  pollMs: number;
  /** Services without a command that this `berth up` leased (none was leased before it): released at the end too. */
  leasedForRun: readonly string[];
  /** Each service's name through the proxy (the summary shows them); absent without a running proxy. */
  names?: ReadonlyMap<string, string>;
  /** URLs that replace the port URLs in `<NAME>_URL` (`"urls": "named"`). */
  urls?: ReadonlyMap<string, string>;
}

/** How often berth up tries a registry that does not answer (an etcd outage) again, in milliseconds. */
export const REGISTRY_RETRY_MS = 2_000;

const groupOf = (p: SpawnedProcess): ProcessGroupRef => ({
  pid: p.pid,
  pgid: p.pgid,
  startTime: p.startTime,
});

/** Runs one stack; see the module comment. */
export class StackRunner {
  readonly done: Promise<StackOutcome>;
  private resolveDone!: (outcome: StackOutcome) => void;
  private readonly states = new Map<string, UnitState>();
  private readonly procs = new Map<string, SpawnedProcess>();
  private readonly watches = new Map<string, AbortController>();
  private readonly launching = new Set<string>();
  private readonly moving = new Set<string>();
  /** Processes a move stopped: their exit is not a crash. */
  private readonly moved = new WeakSet<SpawnedProcess>();
  /** The stop of each signalled unit, done when its whole process group is gone. */
  private readonly stops = new Map<string, Promise<unknown>>();
  /** Units sent back to pending because a stranger took their port, with who took it. */
  private readonly takenBy = new Map<string, string>();
  private readonly startedAt = new Map<string, number>();
  private readonly readyMs = new Map<string, number>();
  /** What berth made of each unit's command at its last start (port arguments), for the wrong-port hint. */
  private readonly plans = new Map<string, PortArgsPlan>();
  /** Each unit's `output` check for its current start. */
  private readonly matchers = new Map<string, OutputMatcher>();
  private readonly units: ReadonlyMap<string, StackUnit>;
  private readonly specs: ReadonlyMap<string, ServiceSpec>;
  private readonly timers: RestartTimers;
  private readonly hurry: Promise<void>;
  private hurryNow!: () => void;
  private stopping = false;
  private finishing = false;
  private summarised = false;
  private failure: StackOutcome['failed'] = null;

  constructor(private readonly ctx: RunnerContext) {
    this.units = new Map(ctx.graph.units.map((u) => [u.name, u]));
    this.specs = new Map(ctx.pm.config.services.map((s) => [s.name, s]));
    this.timers = new RestartTimers((ms, signal) => ctx.sleep(ms, signal));
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.hurry = new Promise((resolve) => {
      this.hurryNow = resolve;
    });
  }

  /** Records every unit as pending and starts those that depend on nothing. */
  begin(): void {
    for (const unit of this.ctx.graph.units) {
      this.states.set(unit.name, PENDING);
      this.ctx.recorder.record(unit, PENDING, null);
    }
    this.schedule();
  }

  /** Stops the stack in reverse dependency order; a second call kills what still runs at once. */
  stop(): void {
    if (this.stopping) {
      this.killAll();
      return;
    }
    this.stopping = true;
    this.timers.cancelAll();
    for (const c of this.watches.values()) c.abort();
    for (const [name, state] of this.states) {
      if (state.phase === 'pending' || state.phase === 'restarting') this.set(name, { type: 'stop' });
    }
    this.continueStop();
  }

  /** The phase of every unit (tests, and the CLI's final line). */
  phases(): Record<string, UnitState['phase']> {
    return Object.fromEntries([...this.states].map(([name, s]) => [name, s.phase]));
  }

  private set(name: string, event: UnitEvent): UnitState {
    const next = advance(this.states.get(name)!, event);
    this.states.set(name, next);
    const proc = this.procs.get(name);
    this.ctx.recorder.record(this.units.get(name)!, next, proc ? groupOf(proc) : null);
    return next;
  }

  private phase(name: string): UnitState['phase'] {
    return this.states.get(name)!.phase;
  }

  private port(name: string): number {
    return this.ctx.ports.get(name)!;
  }

  private schedule(): void {
    if (this.stopping) return;
    for (const name of nextToStart(this.states, this.ctx.graph)) {
      if (this.launching.has(name) || this.moving.has(name)) continue;
      this.guard(name, () => this.launch(name));
    }
  }

  /** Runs `work`; an unexpected failure stops the stack, naming the unit. */
  private guard(name: string, work: () => Promise<void>): void {
    work().catch((error: unknown) => this.fail(name, error instanceof Error ? error.message : String(error)));
  }

  private async launch(name: string): Promise<void> {
    const unit = this.units.get(name)!;
    const spec = this.specs.get(name)!;
    this.launching.add(name);
    try {
      if (unit.kind === 'external') {
        this.set(name, { type: 'start' });
        this.ctx.emit({ type: 'watching', service: name, port: this.port(name) });
        this.watch(name, null);
        return;
      }
      if (!(await this.lease(name))) return;
      if (this.stopping || (this.phase(name) !== 'pending' && this.phase(name) !== 'restarting')) return;
      const { adapters } = this.ctx.pm;
      const plan = serviceCommand(spec, spec.run.command!, this.port(name), spec.run.cwd);
      this.plans.set(name, plan);
      if (plan.message !== null) {
        this.ctx.emit({
          type: 'port-args',
          service: name,
          tool: plan.tool?.name ?? null,
          args: plan.args,
          message: plan.message,
        });
      }
      const ready = spec.run.ready;
      // Matched afresh at each start: a line of the last run does not make this one ready.
      const matcher = ready?.type === 'output' ? new OutputMatcher(ready.pattern) : null;
      if (matcher) this.matchers.set(name, matcher);
      const proc = await adapters.spawner.spawn({
        command: plan.command,
        cwd: spec.run.cwd,
        env: serviceEnv(this.ctx.env, this.ctx.pm.config, this.ctx.ports, name, this.ctx.urls),
      });
      this.procs.set(name, proc);
      if (this.stopping) {
        // The stop came while it was being spawned: nothing may outlive the stack.
        adapters.groups.signal(groupOf(proc), 'SIGKILL');
        await proc.exited;
        this.procs.delete(name);
        return;
      }
      attachLines(proc, (stream, line) => {
        matcher?.push(line);
        this.ctx.emit({ type: 'output', service: name, stream, line });
      });
      const state = this.set(name, { type: 'start' });
      this.startedAt.set(name, adapters.now());
      this.ctx.emit({
        type: 'starting',
        service: name,
        port: this.port(name),
        pid: proc.pid,
        command: commandText(plan.command),
        restarts: state.restarts,
      });
      void proc.exited.then((exit) => this.guard(name, () => this.onExit(name, proc, exit)));
      const owner = { pid: proc.pid, startTime: proc.startTime };
      await this.throughOutage(name, () => this.ctx.pm.setOwner(unit.serves, owner));
      this.watch(name, this.ctx.self.pid);
    } finally {
      this.launching.delete(name);
      // A stop that came meanwhile waited for this launch to settle.
      if (this.stopping) this.continueStop();
    }
  }

  /**
   * Before each start, the unit's leases are (re)taken for berth up, as
   * `berth assign` would: a lease its last process lost when it died is made
   * again (the same port when it is free), and a port a stranger took moves
   * (autoReassign), which the `moved` event explains. False when the stack fails instead.
   */
  private async lease(name: string): Promise<boolean> {
    if (this.specs.get(name)!.inheritFrom !== null) return true;
    const from = this.port(name);
    const holder = this.takenBy.get(name);
    this.takenBy.delete(name);
    let result: Awaited<ReturnType<PortManager['assignServices']>>;
    try {
      const leased = await this.throughOutage(name, () =>
        this.ctx.pm.assignServices(this.units.get(name)!.serves, { owner: this.ctx.self }),
      );
      if (!leased.ok) return false;
      result = leased.value;
    } catch (error) {
      this.fail(name, error instanceof Error ? error.message : String(error));
      return false;
    }
    for (const [service, s] of Object.entries(result.services)) this.ctx.ports.set(service, s.port);
    const to = this.port(name);
    if (to !== from) {
      const decision = result.decisions.find((d) => d.service === name)?.message ?? `${name} moved to ${to}`;
      this.ctx.emit({
        type: 'moved',
        service: name,
        from,
        to,
        reason:
          holder === undefined
            ? decision
            : `${from} was taken by ${holder}, a process berth did not start; ${decision}`,
      });
    }
    return true;
  }

  /**
   * Runs registry work for unit `name`. While the registry does not answer
   * (`E_REGISTRY`: an etcd without a quorum), the stack keeps running: berth up says so
   * once and tries again every {@link REGISTRY_RETRY_MS}, until the registry answers or
   * the stack stops (then `{ ok: false }`). Other errors are thrown.
   */
  private async throughOutage<T>(
    name: string,
    work: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    for (let said = false; ; ) {
      try {
        return { ok: true, value: await work() };
      } catch (error) {
        if (!isBerthError(error) || error.code !== 'E_REGISTRY' || this.stopping) throw error;
        if (!said) {
          said = true;
          this.ctx.emit({
            type: 'waiting',
            service: name,
            port: this.port(name),
            reason: `${error.message} berth up keeps the stack running and tries again every ${REGISTRY_RETRY_MS / 1000} s.`,
          });
        }
        await this.ctx.sleep(REGISTRY_RETRY_MS);
        if (this.stopping) return { ok: false };
      }
    }
  }

  /**
   * Probes `name` until ready (or its port is taken); `ancestor` null for an
   * external unit. While its tree has not bound the port, also watches for a
   * process of the tree listening on another port.
   */
  private watch(name: string, ancestor: number | null): void {
    const controller = new AbortController();
    this.watches.get(name)?.abort();
    this.watches.set(name, controller);
    const { adapters } = this.ctx.pm;
    const port = this.port(name);
    const { probe, wake } = this.readinessProbe(name, ancestor, controller.signal);
    const sleep = (ms: number, signal: AbortSignal) =>
      wake === null ? this.ctx.sleep(ms, signal) : Promise.race([this.ctx.sleep(ms, signal), wake]);
    const proc = this.procs.get(name);
    if (ancestor !== null && proc !== undefined) {
      this.guard(name, () =>
        watchWrongPort(adapters, {
          root: proc.pid,
          port,
          signal: controller.signal,
          sleep: (ms, signal) => this.ctx.sleep(ms, signal),
          now: adapters.now,
          onFound: (l) =>
            this.ctx.emit({
              type: 'wrong-port',
              service: name,
              port,
              pid: l.pid,
              command: l.command,
              listening: l.port,
              fix: wrongPortFix(this.plans.get(name)!, name),
            }),
        }),
      );
    }
    this.guard(name, async () => {
      const result = await waitUntilReady(probe, {
        intervalMs: this.ctx.pollMs,
        signal: controller.signal,
        sleep,
        now: adapters.now,
        onSlow: (reason) => this.ctx.emit({ type: 'waiting', service: name, port, reason }),
      });
      if (result === null || controller.signal.aborted || this.phase(name) !== 'starting') return;
      if (result.state === 'taken') {
        await this.moveOff(name, result.holder);
        return;
      }
      controller.abort();
      this.set(name, { type: 'ready' });
      const ms = adapters.now() - (this.startedAt.get(name) ?? adapters.now());
      this.readyMs.set(name, ms);
      const url = serviceUrl(this.specs.get(name)!, port);
      this.ctx.emit({ type: 'ready', service: name, port, url, ms });
      this.summarise();
      this.schedule();
    });
  }

  /**
   * How `name`'s readiness is probed: an `output` or `command` check alone
   * decides (a listener outside the tree, docker's proxy, is then no
   * stranger); otherwise the port must be bound by the tree, then the check
   * passes. `wake` ends a wait early (a matching line).
   */
  private readinessProbe(
    name: string,
    ancestor: number | null,
    signal: AbortSignal,
  ): { probe: () => Promise<Readiness>; wake: Promise<void> | null } {
    const { adapters } = this.ctx.pm;
    const spec = this.specs.get(name)!;
    const port = this.port(name);
    const check = spec.run.ready;
    if (check?.type === 'output') {
      const matcher = this.matchers.get(name)!;
      return { probe: async () => matcher.probe(), wake: matcher.matched };
    }
    if (check?.type === 'command') {
      const env = serviceEnv(this.ctx.env, this.ctx.pm.config, this.ctx.ports, name);
      const sleep = (ms: number, s?: AbortSignal) => this.ctx.sleep(ms, s);
      return {
        probe: commandCheck(adapters, check, { cwd: spec.run.cwd, env, port, sleep, signal }),
        wake: null,
      };
    }
    return { probe: () => probeReadiness(adapters, { port, check, ancestor }), wake: null };
  }

  /** A stranger holds the port of a starting unit: stop it, and start it again on another port (not a restart). */
  private async moveOff(name: string, holder: string): Promise<void> {
    this.moving.add(name);
    try {
      const proc = this.procs.get(name);
      if (proc) {
        // Its exit is the move's to handle, not onExit's (it would count it as a crash).
        this.moved.add(proc);
        await this.stopProcess(name, proc);
        this.procs.delete(name);
      }
      if (this.stopping) {
        // The stack stopped meanwhile: the unit is gone, not moved.
        if (this.phase(name) === 'stopping') {
          this.set(name, { type: 'exit', code: null });
          this.ctx.emit({ type: 'stopped', service: name, code: null, signal: null });
        }
        return;
      }
      await this.throughOutage(name, () => this.ctx.pm.setOwner(this.units.get(name)!.serves, this.ctx.self));
      this.replan(name, holder);
    } finally {
      this.moving.delete(name);
      if (this.stopping) this.continueStop();
    }
    this.schedule();
  }

  /** Sends `name` back to pending; its next start moves it off the port `holder` took. */
  private replan(name: string, holder: string): void {
    if (this.specs.get(name)!.inheritFrom !== null || !this.ctx.pm.config.autoReassign) {
      const port = this.port(name);
      const why = this.ctx.pm.config.autoReassign
        ? `${name} shares it through inheritFrom`
        : 'autoReassign is off';
      this.fail(
        name,
        `port ${port} is held by ${holder}, a process berth did not start, and ${why}. Free the port (\`berth free ${port}\`)${this.ctx.pm.config.autoReassign ? '' : ' or set autoReassign: true'}`,
      );
      return;
    }
    this.set(name, { type: 'replan' });
    this.takenBy.set(name, holder);
  }

  /** Stops a unit's process for a move, quietly: its exit is not a crash. */
  private async stopProcess(name: string, proc: SpawnedProcess): Promise<void> {
    const spec = this.specs.get(name)!;
    const { adapters } = this.ctx.pm;
    this.watches.get(name)?.abort();
    await stopGroup(adapters.groups, groupOf(proc), proc.exited, {
      signal: spec.run.stopSignal,
      timeoutMs: spec.run.stopTimeoutMs,
      hurry: this.hurry,
      sleep: (ms) => this.ctx.sleep(ms),
      now: adapters.now,
    });
  }

  private async onExit(name: string, proc: SpawnedProcess, exit: ProcessExit): Promise<void> {
    if (this.procs.get(name) !== proc || this.moved.has(proc)) return;
    this.watches.get(name)?.abort();
    const { adapters } = this.ctx.pm;
    const spec = this.specs.get(name)!;
    const unit = this.units.get(name)!;
    const phase = this.phase(name);
    // Whatever the leader left in its group goes with it, so nothing holds the port.
    if (phase !== 'stopping' && adapters.groups.alive(groupOf(proc))) await this.stopProcess(name, proc);
    // A move that began meanwhile (a stranger on the port) handles this exit.
    if (this.moved.has(proc)) return;
    this.procs.delete(name);
    if (this.moving.has(name)) return;
    if (phase === 'stopping') {
      await this.stops.get(name);
      this.set(name, { type: 'exit', code: exit.code });
      this.ctx.emit({ type: 'stopped', service: name, code: exit.code, signal: exit.signal });
      this.continueStop();
      return;
    }
    if (phase === 'stopped') {
      this.continueStop();
      return;
    }
    // Between runs the port stays berth up's (the next start re-leases it if it was reclaimed meanwhile).
    if (!this.finishing) {
      await this.throughOutage(name, () => this.ctx.pm.setOwner(unit.serves, this.ctx.self));
    }
    // A failed start while a stranger holds the port: it lost the race for its bind. Move, do not count it.
    if (exit.code !== 0 && !this.stopping && spec.inheritFrom === null) {
      const held = await portHolder(adapters, this.port(name), this.ctx.self.pid);
      if (held.state === 'taken') {
        this.replan(name, held.holder);
        this.schedule();
        return;
      }
    }
    const state = this.set(name, { type: 'exit', code: exit.code });
    this.ctx.emit({ type: 'exited', service: name, code: exit.code, signal: exit.signal });
    if (this.stopping) {
      this.continueStop();
      return;
    }
    const decision = decideExit(name, state, spec.run, this.ctx.graph, exit);
    if (decision.action === 'restart') {
      const next = this.set(name, { type: 'restart' });
      this.ctx.emit({
        type: 'restarting',
        service: name,
        delayMs: decision.delayMs,
        restarts: next.restarts,
        maxRestarts: spec.run.maxRestarts,
      });
      this.timers.schedule(name, decision.delayMs, () => {
        if (!this.stopping) this.guard(name, () => this.launch(name));
      });
    } else if (decision.action === 'done') {
      this.summarise();
      if (allGone(this.states, this.ctx.graph)) await this.finish();
    } else {
      this.fail(name, decision.reason);
    }
  }

  private fail(name: string, reason: string): void {
    if (this.failure === null && !this.stopping) {
      this.failure = { service: name, reason };
      this.ctx.emit({ type: 'failed', service: name, reason });
    }
    if (!this.stopping) this.stop();
  }

  private continueStop(): void {
    if (!this.stopping || this.finishing) return;
    for (let next = nextToStop(this.states, this.ctx.graph); next.length > 0; ) {
      for (const name of next) this.signal(name);
      next = nextToStop(this.states, this.ctx.graph);
    }
    if (allGone(this.states, this.ctx.graph) && this.launching.size === 0) {
      this.guard('berth', () => this.finish());
    }
  }

  /** Sends a running unit its stop signal (an external one is simply no longer watched). */
  private signal(name: string): void {
    const unit = this.units.get(name)!;
    const proc = this.procs.get(name);
    this.set(name, { type: 'stop' });
    if (unit.kind === 'external' || proc === undefined) {
      this.set(name, { type: 'stopped' });
      return;
    }
    const spec = this.specs.get(name)!;
    const { adapters } = this.ctx.pm;
    this.ctx.emit({ type: 'stopping', service: name, signal: spec.run.stopSignal });
    const stopped = stopGroup(adapters.groups, groupOf(proc), proc.exited, {
      signal: spec.run.stopSignal,
      timeoutMs: spec.run.stopTimeoutMs,
      hurry: this.hurry,
      sleep: (ms) => this.ctx.sleep(ms),
      now: adapters.now,
      onKill: (afterMs) => this.ctx.emit({ type: 'killed', service: name, afterMs }),
    });
    // The unit is stopped once its whole group is gone, not when its leader exits.
    this.stops.set(name, stopped);
    this.guard(name, () => stopped.then(() => {}));
  }

  /** A second Ctrl-C: SIGKILL to every group still running, signalled or not. */
  private killAll(): void {
    this.hurryNow();
    const { groups } = this.ctx.pm.adapters;
    for (const [name, proc] of this.procs) {
      const phase = this.phase(name);
      if (phase === 'starting' || phase === 'ready') {
        this.set(name, { type: 'stop' });
        this.ctx.emit({ type: 'killed', service: name, afterMs: 0 });
      }
      groups.signal(groupOf(proc), 'SIGKILL');
    }
  }

  private summarise(): void {
    if (this.summarised || this.stopping || !allUp(this.states, this.ctx.graph)) return;
    this.summarised = true;
    this.ctx.emit({
      type: 'up',
      services: upServices(this.ctx.graph, this.ctx.ports, this.specs, this.readyMs, this.ctx.names),
    });
  }

  /** Releases the leases of what berth ran and removes the run rows; the stack is down. */
  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    const served = this.ctx.graph.units.filter((u) => u.kind === 'process').flatMap((u) => u.serves);
    try {
      // A service without a command that was leased before berth up (a `berth assign`) stays leased.
      await this.ctx.pm.release(...new Set([...served, ...this.ctx.leasedForRun]));
    } finally {
      this.ctx.recorder.clear();
      this.resolveDone({ code: this.failure === null ? 0 : 1, failed: this.failure });
    }
  }
}
