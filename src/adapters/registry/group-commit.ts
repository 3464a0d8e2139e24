/**
 * Group commit: the transactions one process asks for while it waits for the
 * write lock are run together, in one transaction, when it gets the lock. A
 * test worker's `Promise.all` of 50 `getPort()` calls then costs one turn of
 * the lock and one commit instead of fifty of each. Each request still runs on
 * its own (a savepoint in SQLite's case), so a request that throws rolls back
 * its own writes and fails alone.
 */

/** One request waiting for a batch. */
interface Job<Tx> {
  fn: (tx: Tx) => unknown;
  /** Whether the batch hook must run before this request (see BatchBackend.run). */
  hook: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The outcome of one request inside a batch. */
export type JobOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a backend supplies to run batches. */
export interface BatchBackend<Tx> {
  /** Work that needs no lock, done before waiting for it (e.g. preparing statements): the lock's turns stay short. */
  prepare?(): void;
  /** Waits for the write lock (the transaction is open when it resolves); resolves with the function that gives the turn back. */
  acquire(): Promise<() => void>;
  /**
   * Runs `fns` in order in the open transaction, each isolated from the others'
   * failures, then commits. Before each function after the first it asks
   * `more()`, and stops when that says no; it returns the outcomes of the
   * functions it ran, in order. Throws only when the batch as a whole failed
   * (the commit itself), after rolling it back. `hook`: run the backend's batch
   * hook first (some request of the batch asked for it).
   */
  run(fns: readonly ((tx: Tx) => unknown)[], more: () => boolean, hook: boolean): JobOutcome[];
}

/**
 * How long one batch may keep the event loop, in milliseconds: past it, the
 * rest of the waiting requests go to the next batch, so a burst of 500 calls
 * never blocks the caller's timers for long (issue #8: <= 5 ms per call).
 */
export const BATCH_BUDGET_MS = 2;

/** Queues requests and runs them in batches. */
export class GroupCommit<Tx> {
  private pending: Job<Tx>[] = [];
  private draining = false;

  constructor(
    private readonly backend: BatchBackend<Tx>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs `fn` in the next batch; settles after that batch commits. */
  submit<T>(fn: (tx: Tx) => T, hook = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, hook, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // A microtask later, so every request of the caller's current turn joins the first batch.
        queueMicrotask(() => void this.drain());
      }
    });
  }

  /** Requests waiting for a batch. */
  get waiting(): number {
    return this.pending.length;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        let leave: () => void;
        try {
          this.backend.prepare?.();
          leave = await this.backend.acquire();
        } catch (error) {
          for (const job of this.pending.splice(0)) job.reject(error);
          return;
        }
        // Every request waiting now joins, within the time budget (see BATCH_BUDGET_MS).
        const jobs = this.pending;
        this.pending = [];
        const started = this.now();
        let outcomes: JobOutcome[];
        try {
          outcomes = this.backend.run(
            jobs.map((j) => j.fn),
            () => this.now() - started < BATCH_BUDGET_MS,
            jobs.some((j) => j.hook),
          );
        } catch (error) {
          outcomes = jobs.map(() => ({ ok: false, error }));
        } finally {
          leave();
        }
        // Requests the budget did not reach go first in the next batch.
        this.pending = [...jobs.slice(outcomes.length), ...this.pending];
        outcomes.forEach((outcome, i) => {
          const job = jobs[i]!;
          if (outcome.ok) job.resolve(outcome.value);
          else job.reject(outcome.error);
        });
        // Let the callers' continuations (and other processes) run before the next batch.
        if (this.pending.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.draining = false;
    }
  }
}
