/**
 * Whether a stack runs for a checkout, and what a dead `berth up` left: the
 * run store's rows checked against the process table. `berth up` refuses to
 * start twice, `berth down` stops either kind, `berth check` reports orphans.
 */
import type { ServiceRun } from '../../core/runs.js';
import type { LeaseOwner } from '../../core/types.js';
import type { Adapters } from '../context.js';
import type { Project } from '../project.js';

/** The stack of one checkout and environment, as the machine shows it now. */
export type StackStatus =
  | { state: 'none' }
  /** A live `berth up` runs it. */
  | { state: 'running'; runner: LeaseOwner; runs: ServiceRun[] }
  /** Its `berth up` died; `orphans` are one row per unit whose process group still lives. */
  | { state: 'orphaned'; runner: LeaseOwner; runs: ServiceRun[]; orphans: ServiceRun[] }
  /** Its `berth up` died and took everything with it: only rows are left. */
  | { state: 'stale'; runner: LeaseOwner; runs: ServiceRun[] };

/**
 * The stack's status from its rows.
 *
 * @example
 * const status = stackStatus(pm.adapters, projectOf(pm.config, pm.adapters));
 * if (status.state === 'orphaned') console.log(status.orphans.map((r) => r.group!.pid));
 */
export function stackStatus(
  adapters: Pick<Adapters, 'runs' | 'processes' | 'groups'>,
  project: Pick<Project, 'scope'>,
): StackStatus {
  const runs = adapters.runs.scopeRuns(project.scope);
  const first = runs[0];
  if (first === undefined) return { state: 'none' };
  const runner = first.runner;
  if (adapters.processes.isAlive(runner)) return { state: 'running', runner, runs };
  const orphans = runs.filter(
    (r) => r.service === r.unit && r.group !== null && adapters.groups.alive(r.group),
  );
  if (orphans.length > 0) return { state: 'orphaned', runner, runs, orphans };
  return { state: 'stale', runner, runs };
}

/** `api pid 4301 (group 4301)` for each orphan. */
export function describeOrphans(orphans: readonly ServiceRun[]): string {
  return orphans.map((r) => `${r.service} (process group ${r.group!.pgid ?? r.group!.pid})`).join(', ');
}

/** A service's run state as the daemon shows it beside its lease. */
export interface RunView {
  /** The unit's phase: `starting`, `ready`, `restarting`, `exited`, `stopped`, ... */
  state: ServiceRun['phase'];
  /** The pid of the process that runs the service (its unit's), `null` when none runs. */
  pid: number | null;
  restarts: number;
  /** The service whose process serves this one (itself, or the one it inherits a port from). */
  unit: string;
  /** The `berth up` running it. */
  runnerPid: number;
  /** True when that `berth up` was killed and its processes run on without it (`berth down` stops them). */
  orphaned: boolean;
}

/** The key of a service of a checkout and environment, as `runViews` keys them. */
export function runKey(r: { dir: string; environment: string; service: string }): string {
  return `${r.dir}\0${r.environment}\0${r.service}`;
}

/**
 * Every service `berth up` runs on this machine, by {@link runKey}. Each
 * runner's liveness is checked once.
 *
 * @example
 * const run = runViews(adapters).get(runKey(lease)) ?? null;
 */
export function runViews(adapters: Pick<Adapters, 'runs' | 'processes'>): Map<string, RunView> {
  const alive = new Map<string, boolean>();
  const out = new Map<string, RunView>();
  for (const r of adapters.runs.allRuns()) {
    const key = `${r.runner.pid}:${r.runner.startTime ?? ''}`;
    if (!alive.has(key)) alive.set(key, adapters.processes.isAlive(r.runner));
    out.set(runKey(r), {
      state: r.phase,
      pid: r.group?.pid ?? null,
      restarts: r.restarts,
      unit: r.unit,
      runnerPid: r.runner.pid,
      orphaned: !alive.get(key),
    });
  }
  return out;
}
