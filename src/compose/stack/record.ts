/**
 * Recording: every change of a unit's state goes to the run store, one row
 * per service the unit stands for (a websocket served by the api's process
 * shows the api's state), so `berth down`, `berth check` and the dashboard
 * see it from other processes.
 */
import type { ProcessGroupRef } from '../../core/facts.js';
import type { RunStore } from '../../core/runs.js';
import type { StackUnit, UnitState } from '../../core/stack.js';
import type { LeaseOwner, ResolvedConfig } from '../../core/types.js';

/** Writes the rows of one stack. */
export class RunRecorder {
  constructor(
    private readonly store: RunStore,
    private readonly config: ResolvedConfig,
    private readonly runner: LeaseOwner,
    private readonly now: () => number,
  ) {}

  /** Records `unit` in `state`, with its current process group (`null`: none). */
  record(unit: StackUnit, state: UnitState, group: ProcessGroupRef | null): void {
    const spec = this.config.services.find((s) => s.name === unit.name)!;
    for (const service of unit.serves) {
      this.store.put({
        project: this.config.project,
        dir: this.config.dir,
        environment: this.config.environment,
        service,
        unit: unit.name,
        phase: state.phase,
        group,
        restarts: state.restarts,
        exitCode: state.exitCode,
        runner: this.runner,
        stopSignal: spec.run.stopSignal,
        stopTimeoutMs: spec.run.stopTimeoutMs,
        updatedAt: this.now(),
      });
    }
  }

  /** Removes this runner's rows (the stack is down). */
  clear(): void {
    this.store.clear({ dir: this.config.dir, environment: this.config.environment }, this.runner);
  }
}
