/**
 * `berth down`: stops this checkout's stack from another terminal. A live
 * `berth up` is asked (SIGTERM) and stops everything itself, in order. When
 * `berth up` was killed, its rows say what it started: the groups still
 * alive are stopped here, in reverse dependency order, each with its
 * `stopSignal`, then SIGKILL after its `stopTimeout`; their leases are released.
 */

import type { ServiceRun } from '../../core/runs.js';
import { nextToStop, type StackGraph, stackGraph, type UnitState } from '../../core/stack.js';
import type { LeaseOwner } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import type { PortManager } from '../manager.js';
import { projectOf } from '../project.js';
import type { StackEvent } from './events.js';
import { stackStatus } from './status.js';
import { stopGroup } from './stop.js';

/** Time a running `berth up` gets beyond its services' stop timeouts to finish, in milliseconds. */
export const DOWN_MARGIN_MS = 5_000;

/** What `berth down` did. */
export type DownResult =
  | { state: 'none' }
  /** The running `berth up` stopped its stack; `services` are the units whose processes it ran then. */
  | { state: 'stopped'; runner: LeaseOwner; services: string[] }
  /** What a killed `berth up` left was stopped here. */
  | { state: 'stopped-orphans'; runner: LeaseOwner; services: string[] }
  /** Only rows of a dead `berth up` were left; they are gone now. */
  | { state: 'cleared'; runner: LeaseOwner };

/** Options of {@link downStack}. */
export interface DownOptions {
  /** Where the stops of orphans are reported (stopping, killed, stopped). */
  emit: (event: StackEvent) => void;
  sleep?: (ms: number) => Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Stops the stack of `pm`'s checkout and environment (see the module comment).
 *
 * @example
 * const result = await downStack(pm, { emit: (e) => console.log(e) });
 */
export async function downStack(pm: PortManager, options: DownOptions): Promise<DownResult> {
  const { adapters } = pm;
  const project = projectOf(pm.config, adapters);
  const status = stackStatus(adapters, project);
  if (status.state === 'none') return { state: 'none' };
  if (status.state === 'stale') {
    adapters.runs.clear(project.scope);
    return { state: 'cleared', runner: status.runner };
  }
  if (status.state === 'running') {
    const { runner } = status;
    const units = status.runs.filter((r) => r.service === r.unit);
    // What it runs now, read before it stops: its rows are gone once it has.
    const services = units.filter(isRunning).map((r) => r.unit);
    const graceMs = units.reduce((sum, r) => sum + r.stopTimeoutMs, DOWN_MARGIN_MS);
    const outcome = await adapters.stopper.stop(runner.pid, {
      force: false,
      graceMs,
      stillOwnsPort: () => adapters.processes.isAlive(runner),
    });
    const after = stackStatus(adapters, project);
    if (outcome === 'survived' || after.state === 'running') {
      throw new BerthError(
        'E_TIMEOUT',
        `berth up (pid ${runner.pid}) did not stop within ${Math.round(graceMs / 1000)} s. It may still be stopping a service; run \`berth down\` again, or stop it with \`kill -9 ${runner.pid}\` and run \`berth down\` to stop what it leaves.`,
        { data: { pid: runner.pid } },
      );
    }
    if (after.state !== 'orphaned') {
      if (after.state === 'stale') adapters.runs.clear(project.scope);
      return { state: 'stopped', runner, services };
    }
    return stopOrphans(pm, after.runner, after.orphans, after.runs, options);
  }
  return stopOrphans(pm, status.runner, status.orphans, status.runs, options);
}

/** A unit whose process runs (or is being started, stopped or restarted): not a watched service, not one that ended. */
function isRunning(row: ServiceRun): boolean {
  return row.group !== null && row.phase !== 'exited' && row.phase !== 'stopped';
}

/**
 * The order to stop orphans in: the config's dependencies among them; a unit
 * the config no longer runs (it changed since) stops with the first wave.
 */
function orphanGraph(pm: PortManager, units: readonly string[]): StackGraph {
  const known = units.filter((u) => pm.config.services.some((s) => s.name === u && s.run.command !== null));
  let graph: StackGraph = { units: [], unitOf: new Map() };
  try {
    if (known.length > 0) graph = stackGraph(pm.config.services, known);
  } catch {
    // The config no longer describes them: no order to keep.
  }
  const missing = units.filter((u) => !graph.units.some((x) => x.name === u));
  return {
    units: [
      ...graph.units,
      ...missing.map((name) => ({ name, kind: 'process' as const, dependsOn: [], serves: [name] })),
    ],
    unitOf: graph.unitOf,
  };
}

async function stopOrphans(
  pm: PortManager,
  runner: LeaseOwner,
  orphans: readonly ServiceRun[],
  runs: readonly ServiceRun[],
  options: DownOptions,
): Promise<DownResult> {
  const { adapters } = pm;
  const project = projectOf(pm.config, adapters);
  const sleep = options.sleep ?? sleepMs;
  const byUnit = new Map(orphans.map((r) => [r.unit, r]));
  const graph = orphanGraph(
    pm,
    orphans.map((r) => r.unit),
  );
  const states = new Map<string, UnitState>(
    graph.units.map((u) => [
      u.name,
      { phase: byUnit.has(u.name) ? 'ready' : 'stopped', restarts: 0, exitCode: null } as UnitState,
    ]),
  );
  const never = new Promise<void>(() => {});
  for (let next = nextToStop(states, graph); next.length > 0; next = nextToStop(states, graph)) {
    await Promise.all(
      next.map(async (unit) => {
        const row = byUnit.get(unit)!;
        states.set(unit, { phase: 'stopping', restarts: 0, exitCode: null });
        options.emit({ type: 'stopping', service: unit, signal: row.stopSignal });
        await stopGroup(adapters.groups, row.group!, null, {
          signal: row.stopSignal,
          timeoutMs: row.stopTimeoutMs,
          hurry: never,
          sleep,
          now: adapters.now,
          onKill: (afterMs) => options.emit({ type: 'killed', service: unit, afterMs }),
        });
        states.set(unit, { phase: 'stopped', restarts: 0, exitCode: null });
        options.emit({ type: 'stopped', service: unit, code: null, signal: null });
      }),
    );
  }
  const leased = new Set(pm.leases().map((l) => l.service));
  const release = [...new Set(runs.map((r) => r.service))].filter((s) => leased.has(s));
  if (release.length > 0) await pm.release(...release);
  adapters.runs.clear(project.scope);
  return { state: 'stopped-orphans', runner, services: orphans.map((r) => r.unit) };
}
