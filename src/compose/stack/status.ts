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
