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
  /** An answer without the lock, asked while the process waits for it (see GroupCommit.submit). */
  instead: (() => unknown) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The outcome of one request inside a batch. */
export type JobOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a backend supplies to run batches. */
export interface BatchBackend<Tx> {
  /** Work that needs no lock, done before waiting for it (e.g. preparing statements): the lock's turns stay short. */
  prepare?(): void;
  /**
   * Waits for the write lock (the transaction is open when it resolves); resolves with the
   * function that gives the turn back. `withdraw` is asked each time the wait wakes behind
   * other processes: when it says yes, the wait ends without the lock and resolves `null`.
   */
  acquire(withdraw?: () => boolean): Promise<(() => void) | null>;
  /** Takes the lock now if that needs no wait; `null` otherwise. Absent: never without waiting. */
  tryAcquire?(): (() => void) | null;
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
 * How long one batch may keep the event loop, in milliseconds of work ({@link workTimer}):
 * past it, the rest of the waiting requests go to the next batch, so a burst of 500 calls
 * never blocks the caller's timers for long (issue #8: <= 5 ms per call). 1, not 2: with
 * V8's scavenges (2-4 ms with a burst's promises alive) and the calls' own start, a 2 ms
 * batch left the longest stall of a 1 x 500 burst above 5 ms; side by side, 9 reps,
 * range 5.46 -> 3.91 ms and preferred 6.42 -> 5.04 ms, and no slower in the
 * many-process bursts (7 reps: 32x25 preferred 51.5 -> 43.7 ms, 16x50 38.4 -> 34.8,
 * 32x25 zero-config 39.4 -> 29.4, 8x50 zero-config 12.7 -> 13.8; 1x500 range 50 -> 54).
 */
export const BATCH_BUDGET_MS = 1;

/** Wall time past which a batch stops taking requests whatever its work measured, in milliseconds. */
export const BATCH_WALL_LIMIT_MS = 50;

/** A timer of one batch's work: milliseconds since it was made. */
export type WorkTimer = () => () => number;

/** This thread's CPU time in ms (Node 20 has only the whole process's: every thread's, GC's too). */
const cpuMs: () => number = (() => {
  const usage = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage ?? process.cpuUsage;
  return () => {
    const { user, system } = usage.call(process);
    return (user + system) / 1000;
  };
})();

/**
 * The clock of the batch budget, on the given clocks (ms): wall time, but no more than
 * the CPU time used meanwhile, up to {@link BATCH_WALL_LIMIT_MS}. Wall time alone counted
 * the time the OS gave other processes: in a burst of 32 processes on 2 cores, the holder
 * of the lock, put aside during its first request, found its budget spent when it ran
 * again, committed that one request and sent the other 24 of its batch to the end of the
 * queue, behind every other process (#22: its last answer 39 ms after its first). CPU time
 * alone counts other threads too where Node cannot tell this thread's (worker threads, GC,
 * the compiler, the thread pool).
 */
export function workTimerOn(clocks: { wall: () => number; cpu: () => number }): WorkTimer {
  return () => {
    const wall0 = clocks.wall();
    const cpu0 = clocks.cpu();
    return () => {
      const wall = clocks.wall() - wall0;
      // Within the budget, wall time answers alone (the CPU time can only be less): no
      // system call per request of a batch.
      if (wall < BATCH_BUDGET_MS || wall >= BATCH_WALL_LIMIT_MS) return wall;
      return Math.min(wall, clocks.cpu() - cpu0);
    };
  };
}

/** {@link workTimerOn} on this process's clocks. */
export const workTimer: WorkTimer = workTimerOn({ wall: () => performance.now(), cpu: cpuMs });

/** Queues requests and runs them in batches. */
export class GroupCommit<Tx> {
  private pending: Job<Tx>[] = [];
  private draining = false;

  constructor(
    private readonly backend: BatchBackend<Tx>,
    private readonly timer: WorkTimer = workTimer,
  ) {}

  /**
   * Runs `fn` in the next batch; settles after that batch commits. `instead`: an answer
   * that needs no lock, asked while the process waits for the lock behind others; once
   * every waiting request has one (not `undefined`), they resolve with it and leave the
   * queue without running (a burst that prefers a port another process just leased
   * falls back without a turn of the lock each: #22).
   */
  submit<T>(fn: (tx: Tx) => T, hook = true, instead?: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, hook, instead, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // A microtask later, so every request of the caller's current turn joins the first batch.
        queueMicrotask(() => void this.drain());
      }
    });
  }

  /**
   * Runs `fn` now, in a batch of its own, when that needs no wait: no request of this
   * process waits for a batch or runs in one, and the backend takes the lock at once.
   * Returns `{ value }`, or `undefined` when it could not (submit it then); throws what
   * `fn` or the commit threw. A lone call then takes no turn of the microtask queue and
   * no promise of the batch machinery (#22: ~10 us of a 80 us preferred getPort).
   */
  runNow<T>(fn: (tx: Tx) => T, hook = true): { value: T } | undefined {
    if (this.draining || !this.backend.tryAcquire) return undefined;
    this.backend.prepare?.();
    const leave = this.backend.tryAcquire();
    if (!leave) return undefined;
    let outcomes: JobOutcome[];
    try {
      outcomes = this.backend.run([fn], () => false, hook);
    } finally {
      leave();
    }
    const outcome = outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    return { value: outcome.value as T };
  }

  /** Requests waiting for a batch. */
  get waiting(): number {
    return this.pending.length;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        let leave: (() => void) | null;
        let answers: Map<Job<Tx>, unknown> | undefined;
        const withdraw = () => {
          answers = answersWithoutLock(this.pending);
          return answers !== undefined;
        };
        try {
          this.backend.prepare?.();
          leave = await this.backend.acquire(this.pending.every((j) => j.instead) ? withdraw : undefined);
        } catch (error) {
          for (const job of this.pending.splice(0)) job.reject(error);
          return;
        }
        if (leave === null) {
          // Left the queue: the requests asked are answered; any that came since wait on.
          const answered = answers ?? new Map<Job<Tx>, unknown>();
          this.pending = this.pending.filter((job) => !answered.has(job));
          for (const [job, value] of answered) job.resolve(value);
          continue;
        }
        // Every request waiting now joins, within the time budget (see BATCH_BUDGET_MS).
        const jobs = this.pending;
        this.pending = [];
        const worked = this.timer();
        let outcomes: JobOutcome[];
        try {
          outcomes = this.backend.run(
            jobs.map((j) => j.fn),
            () => worked() < BATCH_BUDGET_MS,
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

/**
 * Each job's answer without the lock, when every one of `jobs` has one; otherwise
 * `undefined`. Every job is asked, also after one without an answer: a request learns
 * from being asked (getPort counts a call whose answer the reserve lacked a port for).
 */
function answersWithoutLock<Tx>(jobs: readonly Job<Tx>[]): Map<Job<Tx>, unknown> | undefined {
  if (jobs.length === 0) return undefined;
  const answers = new Map<Job<Tx>, unknown>();
  for (const job of jobs) {
    const value = job.instead?.();
    if (value !== undefined) answers.set(job, value);
  }
  return answers.size === jobs.length ? answers : undefined;
}
