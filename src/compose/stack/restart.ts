/**
 * Restarts: what a unit's exit means (src/core/stack.ts `whenExited`, fed
 * with the unit's settings and the graph), and the back-off timers, which the
 * stack's stop cancels.
 */

import type { ProcessExit } from '../../core/facts.js';
import {
  dependentsOf,
  type ExitDecision,
  type StackGraph,
  type UnitState,
  whenExited,
} from '../../core/stack.js';
import type { RunSpec } from '../../core/types.js';

/**
 * The decision about a unit that exited by itself.
 *
 * @example
 * decideExit('api', state, spec.run, graph, { code: 1, signal: null }) // { action: 'restart', delayMs: 1000 }
 */
export function decideExit(
  unit: string,
  state: UnitState,
  run: RunSpec,
  graph: StackGraph,
  exit: ProcessExit,
): ExitDecision {
  return whenExited({
    restart: run.restart,
    maxRestarts: run.maxRestarts,
    restarts: state.restarts,
    code: exit.code,
    signal: exit.signal,
    dependents: dependentsOf(unit, graph),
  });
}

/** Back-off timers, one per unit; {@link cancelAll} when the stack stops. */
export class RestartTimers {
  private readonly controllers = new Map<string, AbortController>();

  constructor(private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>) {}

  /** Calls `then` after `delayMs`, unless cancelled first. */
  schedule(unit: string, delayMs: number, then: () => void): void {
    this.controllers.get(unit)?.abort();
    const controller = new AbortController();
    this.controllers.set(unit, controller);
    this.sleep(delayMs, controller.signal).then(
      () => {
        if (this.controllers.get(unit) === controller) this.controllers.delete(unit);
        if (!controller.signal.aborted) then();
      },
      () => {},
    );
  }

  /** Whether a restart of `unit` is waiting. */
  waiting(unit: string): boolean {
    return this.controllers.has(unit);
  }

  cancelAll(): void {
    for (const c of this.controllers.values()) c.abort();
    this.controllers.clear();
  }
}
