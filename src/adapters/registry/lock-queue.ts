/**
 * Waiting for the registry's write lock in turn. SQLite gives no queue: a
 * writer that finds the lock taken can only try again later, and processes
 * that retry on timers overtake each other at random, so under load some wait
 * for ever (issue #8: 118 of 800 calls gave up after 10 s). This is the queue:
 * a process that finds the lock taken writes a ticket (a file named by the
 * system-wide monotonic clock) into a folder beside the registry and waits
 * until its ticket is first. Only the first ticket polls `BEGIN IMMEDIATE`; the
 * others sleep on a watch of the ticket ahead of theirs and wake when it goes,
 * so a waiter is served after the waiters ahead of it, never overtaken.
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
import { join } from 'node:path';
import { errnoCode } from '../process/errno.js';

/** How often the first waiter tries the lock while another process holds it, in milliseconds. */
export const HEAD_POLL_MS = 1;

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
  lockedError(): Error;
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
  /** Resolves once this process holds the lock; throws the `lockedError()` when the registry stands still past the timeout. */
  acquire(): Promise<LeaveQueue>;
  /** Tickets of this process still on disk (exit handlers remove them). */
  dropTickets(): void;
}

const nothing: LeaveQueue = () => {};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The queue for the lock of one registry.
 *
 * @example
 * const queue = createLockQueue({ dir, tryLock, progress, timeoutMs: 10_000, lockedError, self, isAlive });
 * const leave = await queue.acquire(); // BEGIN IMMEDIATE has succeeded
 * try { work(); commit(); } finally { leave(); }
 */
export function createLockQueue(options: LockQueueOptions): LockQueue {
  const now = options.now ?? (() => performance.now());
  const mine = new Set<string>();

  const tickets = (): string[] => {
    try {
      return readdirSync(options.dir)
        .filter((name) => TICKET.test(name))
        .sort();
    } catch (error) {
      // Made with the first ticket: no folder, nobody waiting.
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
  };

  let exitHook = false;
  const write = (name: string) => {
    for (;;) {
      mkdirSync(options.dir, { recursive: true, mode: 0o700 });
      try {
        closeSync(openSync(join(options.dir, name), 'w', 0o600));
        break;
      } catch (error) {
        // The last waiter removed the folder between our mkdir and open: make it again.
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
    }
    mine.add(name);
    if (!exitHook) {
      // A process that exits while waiting takes its ticket with it (a killed one is pruned).
      exitHook = true;
      process.once('exit', dropTickets);
    }
  };

  const touch = (name: string) => {
    try {
      const at = new Date();
      utimesSync(join(options.dir, name), at, at);
    } catch {
      // Gone: the loop writes it again.
    }
  };

  const remove = (name: string) => {
    mine.delete(name);
    try {
      unlinkSync(join(options.dir, name));
    } catch {
      // Already gone: a waiter pruned it, or the folder was cleaned.
    }
    try {
      // The folder exists only while someone waits: the fast path then costs one stat.
      rmdirSync(options.dir);
    } catch {
      // Others still wait (ENOTEMPTY), or it is gone already.
    }
  };

  /** Removes tickets ahead of `ticket` whose process is gone (killed while waiting). */
  const prune = (queue: readonly string[], upTo: number) => {
    for (const name of queue.slice(0, upTo)) {
      const [, , pid, start] = TICKET.exec(name)!;
      if (!options.isAlive({ pid: Number(pid), startTime: start === 'x' ? null : start! })) remove(name);
    }
  };

  /** Resolves when the ticket `ahead` goes (not when it is touched), or after `timeoutMs`. */
  const waitFor = (ahead: string, timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      let watcher: FSWatcher | undefined;
      const done = () => {
        clearTimeout(timer);
        watcher?.close();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      try {
        watcher = watch(join(options.dir, ahead), { persistent: true }, (event) => {
          if (event === 'rename') done();
        });
        watcher.on('error', done);
      } catch {
        done(); // it went before we could watch it
      }
    });

  /** True when the first waiter's heartbeat stopped (or its ticket is gone). */
  const stalled = (head: string): boolean => {
    try {
      return Date.now() - statSync(join(options.dir, head)).mtimeMs > STALL_MS;
    } catch {
      return true;
    }
  };

  async function queued(): Promise<LeaveQueue> {
    const { pid, startTime } = options.self;
    const ticket = `${process.hrtime.bigint().toString().padStart(20, '0')}-${pid}-${startTime ?? 'x'}`;
    write(ticket);
    const leave = () => remove(ticket);
    let mark = options.progress();
    let lastHead = '';
    let stillSince = now();
    let beat = 0;
    try {
      for (;;) {
        let queue = tickets();
        if (!queue.includes(ticket)) {
          // Pruned by a waiter that took us for dead (pid reuse can fool it): take our place again.
          write(ticket);
          queue = tickets();
        }
        const place = queue.indexOf(ticket);
        const head = queue[0] ?? '';
        const moved = options.progress();
        if (moved !== mark || head !== lastHead) {
          mark = moved;
          lastHead = head;
          stillSince = now();
        }
        const still = now() - stillSince;
        if (still >= options.timeoutMs) throw options.lockedError();
        if (place === 0) {
          if (options.tryLock()) return leave;
          if (now() - beat >= HEARTBEAT_MS) {
            beat = now();
            touch(ticket);
          }
          await sleep(HEAD_POLL_MS);
        } else if (place === 1) {
          if (still >= STALL_MS && stalled(head)) {
            prune(queue, 1); // a killed first waiter leaves its ticket behind
            if (options.tryLock()) return leave;
          }
          await waitFor(head, STALL_MS);
        } else {
          if (still >= PRUNE_AFTER_MS) prune(queue, place);
          await waitFor(queue[place - 1]!, WATCH_TIMEOUT_MS);
        }
      }
    } catch (error) {
      leave();
      throw error;
    }
  }

  return {
    acquire: async () => {
      // Nobody waiting (no folder): take the lock at once when it is free. A process that
      // finds the folder joins the queue even when the lock is free, so none overtakes a waiter.
      if (!existsSync(options.dir) && options.tryLock()) return nothing;
      return queued();
    },
    dropTickets,
  };

  function dropTickets(): void {
    for (const name of [...mine]) remove(name);
  }
}
