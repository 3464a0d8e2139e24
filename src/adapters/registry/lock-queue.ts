/**
 * Waiting for the registry's write lock in turn. SQLite gives no queue: a
 * writer that finds the lock taken can only try again later, and processes
 * that retry on timers overtake each other at random, so under load some wait
 * for ever (issue #8: 118 of 800 calls gave up after 10 s). This is the queue:
 * a process that finds the lock taken writes a ticket (a file named by the
 * system-wide monotonic clock) into a folder beside the registry and waits
 * until its ticket is first. The others sleep on a watch of the ticket ahead of
 * theirs and wake when it goes, so a waiter is served after the waiters ahead
 * of it, never overtaken. The first ticket tries `BEGIN IMMEDIATE` when the
 * holder rings (issue #22): a holder that leaves the lock while the folder
 * exists touches the folder, which wakes the first waiter's watch at once; a
 * holder that does not ring (the sqlite3 shell, an old berth) is noticed by a
 * slower poll.
 *
 * SQLite's lock stays the only thing that guarantees exclusion: the queue only
 * orders the waiting, so a lost ticket or a process that ignores the queue (an
 * old berth, the sqlite3 shell) costs order, never safety. Design and figures:
 * docs/design/registry-lock.md.
 */
import {
  closeSync,
  existsSync,
  type FSWatcher,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  statSync,
  unlinkSync,
  utimesSync,
  watch,
} from 'node:fs';
import { basename, join } from 'node:path';
import { errnoCode } from '../process/errno.js';

/**
 * How long the first waiter waits for the holder's ring before it tries the lock
 * anyway, in milliseconds: only holders that do not ring wait this long. A 1 ms
 * poll was the hand-off before #22 (median ~0.5 ms, p90 1-3 ms here).
 */
export const HEAD_POLL_MS = 5;

/** How often the first waiter touches its ticket while it polls, in milliseconds: its heartbeat. */
const HEARTBEAT_MS = 5;

/**
 * A first waiter whose heartbeat is older than this, in milliseconds, is stalled (its
 * event loop is busy with other work, e.g. a test worker running synchronous code): the
 * second waiter then tries the lock too, so one busy process cannot hold up everyone.
 * A first waiter that keeps polling is never overtaken.
 */
export const STALL_MS = 25;

/**
 * How long a waiter sleeps on its watch before looking again, in milliseconds: a lost
 * watch event costs this much. Short timeouts woke 64 waiting processes 20 times a
 * second each, to find nothing changed.
 */
const WATCH_TIMEOUT_MS = 250;

/**
 * How often a waiter that cannot watch looks at the queue, in milliseconds. A user's
 * processes share 128 inotify instances by default (fs.inotify.max_user_instances):
 * past that, `fs.watch` fails with EMFILE, and each such waiter looked again at once,
 * in a loop (a 64 x 10 burst beside 128 other watching processes took 3.5-7.7 s
 * instead of 0.3 s).
 */
export const UNWATCHED_POLL_MS = 5;

/** How long the queue stands still before waiters check that the tickets ahead belong to live processes. */
const PRUNE_AFTER_MS = 200;

/** A ticket file name: `<monotonic ns, 20 digits>-<pid>-<start time or x>`; sorts in arrival order. */
const TICKET = /^(\d{20})-(\d+)-(\w+)$/;

/** What the queue needs from the registry and the process table. */
export interface LockQueueOptions {
  /** Folder of the tickets (created when missing). */
  dir: string;
  /** Tries to take the lock once; false when another connection holds it. */
  tryLock(): boolean;
  /** A value that changes whenever another connection commits (SQLite's `data_version`). */
  progress(): number;
  /** Give up after the registry made no progress for this long, in milliseconds. */
  timeoutMs: number;
  /** The error to throw then (it names the holder). */
  lockedError(): Error | Promise<Error>;
  /** This process, for its ticket. */
  self: { pid: number; startTime: string | null };
  /** Whether the process of a ticket still lives (pid and start time). */
  isAlive(owner: { pid: number; startTime: string | null }): boolean;
  /** Monotonic clock in ms; default `performance.now`. */
  now?: () => number;
}

/** Gives the lock's place in the queue back; call after COMMIT or ROLLBACK. */
export type LeaveQueue = () => void;

/** The queue of one registry folder. */
export interface LockQueue {
  /**
   * Resolves once this process holds the lock; throws the `lockedError()` when the
   * registry stands still past the timeout. `withdraw`: asked each time the wait wakes
   * (the ticket ahead went; for the first waiter, a holder's ring or its poll); when it
   * says yes, the process leaves the queue without the lock and this resolves `null`.
   */
  acquire(withdraw?: () => boolean): Promise<LeaveQueue | null>;
  /**
   * Takes the lock now if nobody queues for it and it is free, as {@link acquire} does
   * first; `null` otherwise (the caller then waits its turn with {@link acquire}).
   */
  tryAcquire(): LeaveQueue | null;
  /** Tickets of this process still on disk (exit handlers remove them). */
  dropTickets(): void;
  /** Wakes the first waiter after a lock taken without {@link acquire} was released. */
  ring(): void;
}

/**
 * The queue for the lock of one registry.
 *
 * @example
 * const queue = createLockQueue({ dir, tryLock, progress, timeoutMs: 10_000, lockedError, self, isAlive });
 * const leave = await queue.acquire(); // BEGIN IMMEDIATE has succeeded
 * try { work(); commit(); } finally { leave(); }
 */
export function createLockQueue(options: LockQueueOptions): LockQueue {
  const folder = new TicketFolder(options.dir, options.isAlive);
  // Nobody waiting (no folder): take the lock at once when it is free. A process that
  // finds the folder joins the queue even when the lock is free, so none overtakes a waiter.
  // Leaving rings for whoever queued meanwhile.
  const tryAcquire = (): LeaveQueue | null =>
    !existsSync(options.dir) && options.tryLock() ? folder.ring : null;
  return {
    acquire: async (withdraw) => tryAcquire() ?? new Wait(options, folder, withdraw).run(),
    tryAcquire,
    dropTickets: () => folder.dropMine(),
    ring: folder.ring,
  };
}

/** The tickets on disk: listing, writing, touching, removing, watching. */
class TicketFolder {
  private readonly mine = new Set<string>();
  private exitHook = false;
  /** The name a watch of the folder reports for a change of the folder itself: the ring. */
  private readonly self: string;

  constructor(
    readonly dir: string,
    private readonly isAlive: LockQueueOptions['isAlive'],
  ) {
    this.self = basename(dir);
  }

  /**
   * Wakes the first waiter, if anyone waits: touches the folder, which its watch
   * reports. Call after the lock is released (COMMIT or ROLLBACK done).
   */
  readonly ring = (): void => {
    if (!existsSync(this.dir)) return;
    try {
      const at = new Date();
      utimesSync(this.dir, at, at);
    } catch {
      // The last waiter removed it meanwhile: nobody to wake.
    }
  };

  /**
   * A watch for the ring, armed now: `rung` resolves at the ring (or when the
   * folder goes), or after `timeoutMs`. Arm it before trying the lock, so a
   * holder that leaves after the try is heard.
   */
  bell(timeoutMs: number): { rung: Promise<void>; cancel: () => void } {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let done = () => {};
    const rung = new Promise<void>((resolve) => {
      done = () => {
        clearTimeout(timer);
        watcher?.close();
        resolve();
      };
      timer = setTimeout(done, timeoutMs);
      try {
        watcher = watch(this.dir, { persistent: true }, (_event, name) => {
          if (name === this.self) done();
        });
        watcher.on('error', done);
      } catch (error) {
        // The folder went: look again at once. No watch to be had (see UNWATCHED_POLL_MS):
        // the timer, already this short, is the poll.
        if (errnoCode(error) === 'ENOENT') done();
      }
    });
    return { rung, cancel: done };
  }

  /** The tickets in arrival order. */
  list(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((name) => TICKET.test(name))
        .sort();
    } catch (error) {
      // Made with the first ticket: no folder, nobody waiting.
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  write(name: string): void {
    for (;;) {
      try {
        // The last waiter may remove the folder at any moment, even inside this mkdir
        // (its EEXIST check then finds nothing: ENOENT), or before the open: make it again.
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        closeSync(openSync(join(this.dir, name), 'w', 0o600));
        break;
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
    }
    this.mine.add(name);
    if (!this.exitHook) {
      // A process that exits while waiting takes its ticket with it (a killed one is pruned).
      this.exitHook = true;
      process.once('exit', () => this.dropMine());
    }
  }

  /** The first waiter's heartbeat. */
  touch(name: string): void {
    try {
      const at = new Date();
      utimesSync(join(this.dir, name), at, at);
    } catch {
      // Gone: the wait writes it again.
    }
  }

  remove(name: string): void {
    this.mine.delete(name);
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      // Already gone: a waiter pruned it, or the folder was cleaned.
    }
    try {
      // The folder exists only while someone waits: the fast path then costs one stat.
      rmdirSync(this.dir);
    } catch {
      // Others still wait (ENOTEMPTY), or it is gone already.
    }
  }

  dropMine(): void {
    for (const name of [...this.mine]) this.remove(name);
  }

  /** Removes the first `upTo` tickets whose process is gone (killed while waiting). */
  prune(queue: readonly string[], upTo: number): void {
    for (const name of queue.slice(0, upTo)) {
      const [, , pid, start] = TICKET.exec(name)!;
      if (!this.isAlive({ pid: Number(pid), startTime: start === 'x' ? null : start! })) this.remove(name);
    }
  }

  /** True when a first waiter's heartbeat stopped (or its ticket is gone). */
  stalled(head: string): boolean {
    try {
      return Date.now() - statSync(join(this.dir, head)).mtimeMs > STALL_MS;
    } catch {
      return true;
    }
  }

  /**
   * A watch, armed now: `done` resolves when the ticket `ahead` goes (not when it is
   * touched), or after `timeoutMs`.
   */
  waitFor(ahead: string, timeoutMs: number): { done: Promise<void>; cancel: () => void } {
    let cancel = () => {};
    const done = new Promise<void>((resolve) => {
      let watcher: FSWatcher | undefined;
      cancel = () => {
        clearTimeout(timer);
        watcher?.close();
        resolve();
      };
      let timer = setTimeout(cancel, timeoutMs);
      try {
        watcher = watch(join(this.dir, ahead), { persistent: true }, (event) => {
          if (event === 'rename') cancel();
        });
        watcher.on('error', cancel);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') {
          cancel(); // it went before we could watch it
        } else {
          // No watch to be had: look again soon, not at once (a waiter spun on the CPU).
          clearTimeout(timer);
          timer = setTimeout(cancel, Math.min(timeoutMs, UNWATCHED_POLL_MS));
        }
      }
    });
    return { done, cancel };
  }
}

/** One process's wait in the queue, from its ticket to the lock. */
class Wait {
  private readonly ticket: string;
  private readonly now: () => number;
  /** Registry progress last seen, the head last seen, and since when neither moved. */
  private mark: number;
  private lastHead = '';
  private stillSince: number;
  private beat = 0;

  constructor(
    private readonly options: LockQueueOptions,
    private readonly folder: TicketFolder,
    private readonly withdraw?: () => boolean,
  ) {
    const { pid, startTime } = options.self;
    this.ticket = `${process.hrtime.bigint().toString().padStart(20, '0')}-${pid}-${startTime ?? 'x'}`;
    this.now = options.now ?? (() => performance.now());
    this.mark = options.progress();
    this.stillSince = this.now();
  }

  /** Waits for the lock; the returned function gives the place back. `null`: withdrawn, no lock. */
  async run(): Promise<LeaveQueue | null> {
    const leave = () => {
      this.folder.remove(this.ticket);
      this.folder.ring();
    };
    this.folder.write(this.ticket);
    try {
      for (;;) {
        const outcome = await this.turn();
        if (outcome === 'lock') return leave;
        if (outcome === 'withdrawn') {
          // Our ticket's removal wakes the waiter behind it.
          this.folder.remove(this.ticket);
          return null;
        }
      }
    } catch (error) {
      leave();
      throw error;
    }
  }

  /**
   * One look at the queue: `lock` once this process holds the lock, `withdrawn` once its
   * requests have an answer without it. The first waiter polls (with a heartbeat), the
   * second steps in for a stalled first, the others sleep on the ticket ahead of theirs.
   * The first waiter asks whether to withdraw before it tries the lock, the others once
   * their watch is armed. A waiter that withdraws removes its ticket, which wakes the
   * one behind it: after the commit that answers a burst, the waiters leave one after
   * another, each without a transaction. (Waking them all at each commit, through a
   * watched file the holder touched, cost a wake per waiter per commit whenever their
   * answer did not come: many processes each preferring a port of their own.)
   */
  private async turn(): Promise<'lock' | 'withdrawn' | 'wait'> {
    const { folder, options, ticket } = this;
    let queue = folder.list();
    if (!queue.includes(ticket)) {
      // Pruned by a waiter that took us for dead (pid reuse can fool it): take our place again.
      folder.write(ticket);
      queue = folder.list();
    }
    const place = queue.indexOf(ticket);
    const still = this.standingStill(queue[0] ?? '');
    if (still >= options.timeoutMs) throw await options.lockedError();
    if (place === 0) {
      // Asked before the lock is tried: requests answered meanwhile need no turn of it.
      if (this.withdraw?.()) return 'withdrawn';
      if (options.tryLock()) return 'lock';
      // Armed before the second try: a holder that leaves after it rings, and is heard.
      const bell = folder.bell(HEAD_POLL_MS);
      if (options.tryLock()) {
        bell.cancel();
        return 'lock';
      }
      if (this.now() - this.beat >= HEARTBEAT_MS) {
        this.beat = this.now();
        folder.touch(ticket);
      }
      await bell.rung;
      return 'wait';
    }
    let wake: { done: Promise<void>; cancel: () => void };
    if (place === 1) {
      if (still >= STALL_MS && folder.stalled(queue[0]!)) {
        folder.prune(queue, 1); // a killed first waiter leaves its ticket behind
        if (options.tryLock()) return 'lock';
      }
      wake = folder.waitFor(queue[0]!, STALL_MS);
    } else {
      if (still >= PRUNE_AFTER_MS) folder.prune(queue, place);
      wake = folder.waitFor(queue[place - 1]!, WATCH_TIMEOUT_MS);
    }
    if (this.withdraw?.()) {
      wake.cancel();
      return 'withdrawn';
    }
    await wake.done;
    return 'wait';
  }

  /** How long neither the registry (commits by anyone) nor the queue's head has moved, in ms. */
  private standingStill(head: string): number {
    const moved = this.options.progress();
    if (moved !== this.mark || head !== this.lastHead) {
      this.mark = moved;
      this.lastHead = head;
      this.stillSince = this.now();
    }
    return this.now() - this.stillSince;
  }
}
