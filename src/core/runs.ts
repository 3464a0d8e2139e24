/**
 * What `berth up` records about the services it runs, so that `berth down`,
 * `berth check` and the daemon can see them from other processes: the run
 * store's rows and the interface its adapter (src/adapters/registry/runs.ts)
 * implements. Run state is about this machine's processes, so it lives in the
 * machine's registry file whatever holds the leases.
 */
import type { ProcessGroupRef } from './facts.js';
import type { Scope } from './registry.js';
import type { RunPhase } from './stack.js';
import type { LeaseOwner, StopSignal } from './types.js';

/** One service of a running stack. */
export interface ServiceRun {
  project: string;
  dir: string;
  environment: string;
  service: string;
  /** The unit whose process runs the service: itself, or the service whose port it inherits. */
  unit: string;
  phase: RunPhase;
  /** The unit's current process group; `null` before it first starts, and for an external unit. */
  group: ProcessGroupRef | null;
  restarts: number;
  /** Last exit code; `null` when none yet or a signal ended it. */
  exitCode: number | null;
  /** The `berth up` process running the stack. */
  runner: LeaseOwner;
  /** How to stop the unit, so `berth down` can stop what a dead runner left without the config. */
  stopSignal: StopSignal;
  stopTimeoutMs: number;
  /** Epoch milliseconds of the last change. */
  updatedAt: number;
}

/** The rows of running stacks. */
export interface RunStore {
  /** The runs of one checkout and environment. */
  scopeRuns(scope: Scope): ServiceRun[];
  /** Every run on the machine, ordered by folder, environment, service. */
  allRuns(): ServiceRun[];
  /** Inserts or replaces the row of the run's (dir, environment, service). */
  put(run: ServiceRun): void;
  /** Deletes the scope's rows (only `runner`'s when given). */
  clear(scope: Scope, runner?: LeaseOwner): void;
  close(): void;
}
