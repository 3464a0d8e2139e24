/**
 * The stack runner: one `berth up`'s units driven through their state
 * machine (src/core/stack.ts `step`), which holds every unit's state and
 * says what to do next; the runner does it, keeps the handles that cannot be
 * data (processes, watches, timers, stops), and wires the small units of this folder to each process's events:
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
  initialStack,
  type StackEffect,
  type StackGraph,
  type StackInput,
  type StackRules,
  type StackState,
  type StackUnit,
  stackRules,
  step,
  type Taken,
  type UnitRun,
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
import { RestartTimers } from './restart.js';
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

/** One start of a unit's process: what berth made of its command (for the wrong-port hint), its `output` check. */
interface Start {
  proc: SpawnedProcess;
  plan: PortArgsPlan;
  matcher: OutputMatcher | null;
}

/** Runs one stack; see the module comment. */
export class StackRunner {
  readonly done: Promise<StackOutcome>;
  private resolveDone: (outcome: StackOutcome) => void = () => {};
  private state: StackState;
  private readonly rules: StackRules;
  private readonly procs = new Map<string, SpawnedProcess>();
  private readonly watches = new Map<string, AbortController>();
  /** The stop of each signalled unit, done when its whole process group is gone. */
  private readonly stops = new Map<string, Promise<unknown>>();
  private readonly units: ReadonlyMap<string, StackUnit>;
  private readonly specs: ReadonlyMap<string, ServiceSpec>;
  private readonly timers: RestartTimers;
  private readonly hurry: Promise<void>;
  private hurryNow: () => void = () => {};

  constructor(private readonly ctx: RunnerContext) {
    this.units = new Map(ctx.graph.units.map((u) => [u.name, u]));
    this.specs = new Map(ctx.pm.config.services.map((s) => [s.name, s]));
    this.rules = stackRules(ctx.graph, ctx.pm.config.services, ctx.pm.config.autoReassign);
    this.state = initialStack(ctx.graph);
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
    this.dispatch({ type: 'begin' });
  }

  /** Stops the stack in reverse dependency order; a second call kills what still runs at once. */
  stop(): void {
    this.dispatch({ type: 'stop' });
  }

  /** The phase of every unit (tests, and the CLI's final line). */
  phases(): Record<string, UnitState['phase']> {
    return Object.fromEntries([...this.state.units].map(([name, s]) => [name, s.phase]));
  }

  /** Feeds the machine one input and carries out what it says, in order. */
  private dispatch(input: StackInput): void {
    const { state, effects } = step(this.state, this.rules, input);
    this.state = state;
    for (const effect of effects) this.carryOut(effect);
  }

  private carryOut(effect: StackEffect): void {
    const name = 'unit' in effect ? effect.unit : 'berth';
    switch (effect.type) {
      case 'record': {
        const proc = this.procs.get(name);
        this.ctx.recorder.record(this.unit(name), this.unitState(name), proc ? groupOf(proc) : null);
        return;
      }
      case 'notice':
        this.ctx.emit(effect.notice);
        return;
      case 'launch':
        this.guard(name, () => this.launch(name, effect.takenBy));
        return;
      case 'back-off':
        this.timers.schedule(name, effect.delayMs, () => this.dispatch({ type: 'restart-due', unit: name }));
        return;
      case 'signal':
        this.signal(name);
        return;
      case 'ready': {
        const port = this.port(name);
        this.ctx.emit({
          type: 'ready',
          service: name,
          port,
          url: serviceUrl(this.spec(name), port),
          ms: effect.ms,
        });
        return;
      }
      case 'summary': {
        const readyMs = new Map<string, number>();
        for (const [unit, s] of this.state.units) if (s.readyMs !== null) readyMs.set(unit, s.readyMs);
        this.ctx.emit({
          type: 'up',
          services: upServices(this.ctx.graph, this.ctx.ports, this.specs, readyMs, this.ctx.names),
        });
        return;
      }
      case 'cancel':
        this.timers.cancelAll();
        for (const c of this.watches.values()) c.abort();
        return;
      case 'kill-all':
        this.hurryNow();
        for (const proc of this.procs.values()) this.ctx.pm.adapters.groups.signal(groupOf(proc), 'SIGKILL');
        return;
      case 'finish':
        this.guard('berth', () => this.finish());
        return;
    }
  }

  private unit(name: string): StackUnit {
    const unit = this.units.get(name);
    if (unit === undefined) throw new Error(`berth up: no unit "${name}"`);
    return unit;
  }

  private unitState(name: string): UnitRun {
    const state = this.state.units.get(name);
    if (state === undefined) throw new Error(`berth up: no unit "${name}"`);
    return state;
  }

  private spec(name: string): ServiceSpec {
    const spec = this.specs.get(name);
    if (spec === undefined) throw new Error(`berth up: no service "${name}"`);
    return spec;
  }

  private get running(): boolean {
    return this.state.mode === 'running';
  }

  private port(name: string): number {
    const port = this.ctx.ports.get(name);
    if (port === undefined) throw new Error(`berth up: ${name} has no port`);
    return port;
  }

  /** Runs `work`; an unexpected failure stops the stack, naming the unit. */
  private guard(name: string, work: () => Promise<void>): void {
    work().catch((error: unknown) => this.fail(name, error instanceof Error ? error.message : String(error)));
  }

  private fail(name: string, reason: string): void {
    this.dispatch({ type: 'fail', unit: name, reason });
  }

  private async launch(name: string, takenBy: string | null): Promise<void> {
    const unit = this.unit(name);
    const spec = this.spec(name);
    try {
      if (unit.kind === 'external' || spec.run.command === null) {
        this.dispatch({ type: 'watched', unit: name });
        this.ctx.emit({ type: 'watching', service: name, port: this.port(name) });
        this.watch(name, null);
        return;
      }
      if (!(await this.lease(name, takenBy))) return;
      const phase = this.unitState(name).phase;
      if (!this.running || (phase !== 'pending' && phase !== 'restarting')) return;
      const { adapters } = this.ctx.pm;
      const plan = serviceCommand(spec, spec.run.command, this.port(name), spec.run.cwd);
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
      const proc = await adapters.spawner.spawn({
        command: plan.command,
        cwd: spec.run.cwd,
        env: serviceEnv(this.ctx.env, this.ctx.pm.config, this.ctx.ports, name, this.ctx.urls),
      });
      if (!this.running) {
        // The stop came while it was being spawned: nothing may outlive the stack.
        adapters.groups.signal(groupOf(proc), 'SIGKILL');
        await proc.exited;
        return;
      }
      this.procs.set(name, proc);
      attachLines(proc, (stream, line) => {
        matcher?.push(line);
        this.ctx.emit({ type: 'output', service: name, stream, line });
      });
      this.dispatch({ type: 'started', unit: name, at: adapters.now() });
      this.ctx.emit({
        type: 'starting',
        service: name,
        port: this.port(name),
        pid: proc.pid,
        command: commandText(plan.command),
        restarts: this.unitState(name).restarts,
      });
      void proc.exited.then((exit) => this.guard(name, () => this.onExit(name, proc, exit)));
      const owner = { pid: proc.pid, startTime: proc.startTime };
      await this.throughOutage(name, () => this.ctx.pm.setOwner(unit.serves, owner));
      this.watch(name, { proc, plan, matcher });
    } finally {
      // A stop that came meanwhile waited for this launch to settle.
      this.dispatch({ type: 'launched', unit: name });
    }
  }

  /**
   * Before each start, the unit's leases are (re)taken for berth up, as
   * `berth assign` would: a lease its last process lost when it died is made
   * again (the same port when it is free), and a port a stranger (`takenBy`)
   * took moves (autoReassign), which the `moved` event explains. False when the stack fails instead.
   */
  private async lease(name: string, takenBy: string | null): Promise<boolean> {
    if (this.spec(name).inheritFrom !== null) return true;
    const from = this.port(name);
    let result: Awaited<ReturnType<PortManager['assignServices']>>;
    try {
      const leased = await this.throughOutage(name, () =>
        this.ctx.pm.assignServices(this.unit(name).serves, { owner: this.ctx.self }),
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
          takenBy === null
            ? decision
            : `${from} was taken by ${takenBy}, a process berth did not start; ${decision}`,
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
        if (!isBerthError(error) || error.code !== 'E_REGISTRY' || !this.running) throw error;
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
        if (!this.running) return { ok: false };
      }
    }
  }

  /**
   * Probes `name` until ready (or its port is taken); `start` null for an
   * external unit. While its tree has not bound the port, also watches for a
   * process of the tree listening on another port.
   */
  private watch(name: string, start: Start | null): void {
    const controller = new AbortController();
    this.watches.get(name)?.abort();
    this.watches.set(name, controller);
    const { adapters } = this.ctx.pm;
    const port = this.port(name);
    const { probe, wake } = this.readinessProbe(name, start, controller.signal);
    const sleep = (ms: number, signal: AbortSignal) =>
      wake === null ? this.ctx.sleep(ms, signal) : Promise.race([this.ctx.sleep(ms, signal), wake]);
    // Only while that start's process still runs.
    if (start !== null && this.procs.get(name) === start.proc) {
      this.guard(name, () =>
        watchWrongPort(adapters, {
          root: start.proc.pid,
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
              fix: wrongPortFix(start.plan, name),
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
      if (result === null || controller.signal.aborted || this.unitState(name).phase !== 'starting') return;
      if (result.state === 'taken') {
        await this.moveOff(name, { port, holder: result.holder });
        return;
      }
      controller.abort();
      this.dispatch({ type: 'ready', unit: name, at: adapters.now() });
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
    start: Start | null,
    signal: AbortSignal,
  ): { probe: () => Promise<Readiness>; wake: Promise<void> | null } {
    const { adapters } = this.ctx.pm;
    const spec = this.spec(name);
    const port = this.port(name);
    const check = spec.run.ready;
    if (check?.type === 'output') {
      const matcher = start?.matcher ?? new OutputMatcher(check.pattern);
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
    // berth up is the root of every process it starts; an external unit may be served by anyone.
    const ancestor = start === null ? null : this.ctx.self.pid;
    return { probe: () => probeReadiness(adapters, { port, check, ancestor }), wake: null };
  }

  /** A stranger holds the port of a starting unit: stop it, and start it again on another port (not a restart). */
  private async moveOff(name: string, taken: Taken): Promise<void> {
    this.dispatch({ type: 'move', unit: name });
    let moved: Taken | null = null;
    try {
      const proc = this.procs.get(name);
      if (proc) {
        // Its exit is the move's to handle, not onExit's (it would count it as a crash).
        await this.stopProcess(name, proc);
        this.procs.delete(name);
        this.dispatch({ type: 'move-stopped', unit: name });
      }
      // The stack stopped meanwhile: the unit is gone, not moved.
      if (!this.running) return;
      await this.throughOutage(name, () => this.ctx.pm.setOwner(this.unit(name).serves, this.ctx.self));
      moved = taken;
    } finally {
      this.dispatch({ type: 'move-done', unit: name, taken: moved });
    }
  }

  /** Stops a unit's process for a move, quietly: its exit is not a crash. */
  private async stopProcess(name: string, proc: SpawnedProcess): Promise<void> {
    const spec = this.spec(name);
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

  /**
   * A unit's process exited: what is left of its group goes, its leases go
   * back to berth up, and whether a stranger took its port is looked at; then
   * the machine decides (a stop, a restart, a one-shot done, a failure).
   */
  private async onExit(name: string, proc: SpawnedProcess, exit: ProcessExit): Promise<void> {
    // A move stops its process itself: that exit is the move's, not a crash.
    const mine = () => this.procs.get(name) === proc && !this.unitState(name).moving;
    if (!mine()) return;
    this.watches.get(name)?.abort();
    const { adapters } = this.ctx.pm;
    const phase = this.unitState(name).phase;
    // Whatever the leader left in its group goes with it, so nothing holds the port.
    if (phase !== 'stopping' && adapters.groups.alive(groupOf(proc))) await this.stopProcess(name, proc);
    if (!mine()) return;
    this.procs.delete(name);
    this.dispatch({ type: 'reaped', unit: name });
    let taken: Taken | null = null;
    if (phase === 'stopping') {
      await this.stops.get(name);
    } else if (phase !== 'stopped') {
      // Between runs the port stays berth up's (the next start re-leases it if it was reclaimed meanwhile).
      if (this.state.mode !== 'finishing') {
        await this.throughOutage(name, () => this.ctx.pm.setOwner(this.unit(name).serves, this.ctx.self));
      }
      // A failed start while a stranger holds the port: it lost the race for its bind. Move, do not count it.
      if (exit.code !== 0 && this.running && this.spec(name).inheritFrom === null) {
        const port = this.port(name);
        const held = await portHolder(adapters, port, this.ctx.self.pid);
        if (held.state === 'taken') taken = { port, holder: held.holder };
      }
    }
    this.dispatch({ type: 'exit', unit: name, code: exit.code, signal: exit.signal, taken });
  }

  /** Sends a running unit its stop signal. */
  private signal(name: string): void {
    const proc = this.procs.get(name);
    if (proc === undefined) return;
    const spec = this.spec(name);
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

  /** Releases the leases of what berth ran and removes the run rows; the stack is down. */
  private async finish(): Promise<void> {
    const served = this.ctx.graph.units.filter((u) => u.kind === 'process').flatMap((u) => u.serves);
    try {
      // A service without a command that was leased before berth up (a `berth assign`) stays leased.
      await this.ctx.pm.release(...new Set([...served, ...this.ctx.leasedForRun]));
    } finally {
      this.ctx.recorder.clear();
      const failed = this.state.failure;
      this.resolveDone({ code: failed === null ? 0 : 1, failed });
    }
  }
}
