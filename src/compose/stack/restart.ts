/**
 * Restarts: the back-off timers (src/core/stack.ts decides when a unit
 * restarts and how long it waits), which the stack's stop cancels.
 */

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
