import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../../test/helpers.js';
import { createLockQueue, type LockQueueOptions, UNWATCHED_POLL_MS } from './lock-queue.js';

/** When set, the next mkdirSync of this folder fails as a folder removed mid-mkdir does (ENOENT). */
const vanish = { dir: '' };
/** When set, fs.watch fails as it does once the user's inotify instances are used up (EMFILE); counts the tries. */
const noWatch = { on: false, tries: 0 };
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    watch: (...args: Parameters<typeof fs.watch>) => {
      if (noWatch.on) {
        noWatch.tries++;
        throw Object.assign(new Error('EMFILE: too many open files, watch'), { code: 'EMFILE' });
      }
      return fs.watch(...args);
    },
    mkdirSync: (...args: Parameters<typeof fs.mkdirSync>) => {
      if (args[0] === vanish.dir) {
        vanish.dir = '';
        throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${args[0]}'`), {
          code: 'ENOENT',
        });
      }
      return fs.mkdirSync(...args);
    },
  };
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function queueDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-queue-'));
  dirs.push(dir);
  return join(dir, 'lock-queue');
}

/** A lock shared by the queues of one test, standing in for SQLite's write lock. */
function sharedLock() {
  const lock = { held: true, commits: 0 };
  return {
    lock,
    options: (dir: string, over: Partial<LockQueueOptions> = {}): LockQueueOptions => ({
      dir,
      tryLock: () => {
        if (lock.held) return false;
        lock.held = true;
        return true;
      },
      progress: () => lock.commits,
      timeoutMs: 10_000,
      lockedError: () => new Error('E_REGISTRY_LOCKED'),
      self: { pid: process.pid, startTime: null },
      isAlive: () => true,
      ...over,
    }),
    unlock: () => {
      lock.held = false;
      lock.commits++;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the lock queue', () => {
  it('takes a free lock at once when nobody waits, without writing a ticket', async () => {
    const dir = queueDir();
    const { options, lock } = sharedLock();
    lock.held = false;
    const leave = await createLockQueue(options(dir)).acquire();
    expect(lock.held).toBe(true);
    leave!();
    expect(existsSync(dir)).toBe(false); // no folder: nobody ever waited
  });

  it('tryAcquire takes a free lock when nobody queues; never past a queue, even with the lock free', async () => {
    const dir = queueDir();
    const shared = sharedLock();
    shared.lock.held = false;
    const queue = createLockQueue(shared.options(dir));
    const leave = queue.tryAcquire();
    expect(leave).not.toBeNull();
    expect(shared.lock.held).toBe(true);
    // Held: the next try declines at once.
    expect(createLockQueue(shared.options(dir)).tryAcquire()).toBeNull();
    // Another process queues behind the holder.
    const waiter = createLockQueue(shared.options(dir)).acquire();
    await waitFor(() => existsSync(dir) && readdirSync(dir).length === 1, {
      timeoutMs: 10_000,
      what: 'the ticket',
    });
    shared.unlock();
    leave!();
    // The lock is free for a moment, but a waiter is first: tryAcquire declines, the waiter gets it.
    expect(queue.tryAcquire()).toBeNull();
    const next = await waiter;
    expect(shared.lock.held).toBe(true);
    shared.unlock();
    next!();
    expect(existsSync(dir)).toBe(false);
  });

  it('serves waiters in the order they arrived, whoever polls', async () => {
    const dir = queueDir();
    const shared = sharedLock();
    const order: number[] = [];
    const waiters: Promise<void>[] = [];
    for (let i = 0; i < 6; i++) {
      const queue = createLockQueue(shared.options(dir));
      waiters.push(
        queue.acquire().then(async (leave) => {
          order.push(i);
          await sleep(3);
          shared.unlock();
          leave!();
        }),
      );
      // Distinct arrival times: the next comes once this one's ticket is in the queue.
      await waitFor(() => existsSync(dir) && readdirSync(dir).length === i + 1, {
        timeoutMs: 10_000,
        what: `waiter ${i}'s ticket`,
      });
    }
    // The lock is held by "another process" for longer than the stall window.
    await sleep(60);
    shared.unlock();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(existsSync(dir)).toBe(false); // the folder goes with the last waiter
  });

  it('takes its ticket when the last waiter removes the folder in the middle of its mkdir', async () => {
    // mkdir -p meets the folder (EEXIST), then finds it gone when it checks it is a folder:
    // ENOENT from mkdir itself. Seen in CI with four processes asking at once.
    const dir = queueDir();
    const shared = sharedLock();
    vanish.dir = dir;
    const waiting = createLockQueue(shared.options(dir)).acquire();
    await waitFor(() => vanish.dir === '', { timeoutMs: 10_000, what: 'the failing mkdir' });
    shared.unlock();
    const leave = await waiting;
    expect(shared.lock.held).toBe(true);
    leave!();
  });

  it('skips the ticket of a process that died while waiting', async () => {
    const dir = queueDir();
    mkdirSync(dir, { recursive: true });
    const dead = spawn(process.execPath, ['-e', '0']);
    await once(dead, 'exit');
    // A ticket older than ours, left by a killed process.
    writeFileSync(join(dir, `${'1'.padStart(20, '0')}-${dead.pid}-x`), '');
    const shared = sharedLock();
    shared.lock.held = false;
    const isAlive = (owner: { pid: number }) => owner.pid !== dead.pid;
    const leave = await createLockQueue(shared.options(dir, { isAlive })).acquire();
    expect(shared.lock.held).toBe(true);
    leave!();
    expect(existsSync(dir)).toBe(false); // the folder goes with the last waiter
  });

  it('never gives up while the registry makes progress, and gives up when it stands still', async () => {
    const dir = queueDir();
    const shared = sharedLock();
    // Others commit every 5 ms while the lock is never free for us, for four times the 250 ms
    // timeout, yet no timeout (only a timer held up 250 ms by the machine could fail it).
    let alive = true;
    const committer = (async () => {
      while (alive) {
        await sleep(5);
        shared.lock.commits++;
      }
    })();
    // The queue's own looks at the registry's progress, timed: proof that it kept waiting.
    const looks: number[] = [];
    const progress = () => {
      looks.push(Date.now());
      return shared.lock.commits;
    };
    const queue = createLockQueue(shared.options(dir, { timeoutMs: 250, progress }));
    let settledAt: number | null = null;
    const outcome = queue.acquire().then(
      () => 'acquired',
      (error: Error) => {
        settledAt = Date.now();
        return error.message;
      },
    );
    // Not a fixed sleep: wait until the queue itself has looked at the registry over four
    // timeouts' worth of its own waiting (or has given up, which fails the test).
    await waitFor(() => settledAt !== null || looks.at(-1)! - looks[0]! >= 1000, {
      timeoutMs: 30_000,
      what: 'the queue waiting through four timeouts',
    });
    expect(settledAt).toBeNull();
    const stoppedAt = Date.now();
    alive = false;
    await committer;
    // Then nothing moves: the wait ends with the locked error once the timeout has passed.
    expect(await outcome).toBe('E_REGISTRY_LOCKED');
    expect(settledAt! - stoppedAt).toBeGreaterThanOrEqual(200);
    expect(existsSync(dir)).toBe(false); // the folder goes with the last waiter
  });

  it('a waiter whose requests got an answer without the lock leaves the queue at its next wake, and the one behind it is served', async () => {
    const dir = queueDir();
    const shared = sharedLock();
    let answered = false;
    let asked = 0;
    const withdraw = () => {
      asked++;
      return answered;
    };
    const first = createLockQueue(shared.options(dir)).acquire(withdraw);
    await waitFor(() => existsSync(dir) && readdirSync(dir).length === 1, {
      timeoutMs: 10_000,
      what: 'its ticket',
    });
    const second = createLockQueue(shared.options(dir)).acquire();
    await waitFor(() => readdirSync(dir).length === 2, { timeoutMs: 10_000, what: 'the second ticket' });
    // First in line, it is asked before each try of the lock; without an answer it stays.
    await waitFor(() => asked > 1, { timeoutMs: 10_000, what: 'two asks' });
    expect(readdirSync(dir)).toHaveLength(2);
    // The answer comes (another process committed it); the lock stays taken, so the
    // second must not get it yet.
    answered = true;
    shared.lock.commits++;
    expect(await first).toBeNull();
    expect(shared.lock.held).toBe(true);
    shared.unlock();
    const leave = await second;
    expect(shared.lock.held).toBe(true);
    leave!();
    expect(existsSync(dir)).toBe(false);
  });

  it('waiters whose requests got their answer leave one after another, each woken by the ticket ahead going', async () => {
    const dir = queueDir();
    const shared = sharedLock();
    let answered = false;
    const waiting: Promise<(() => void) | null>[] = [];
    for (const n of [1, 2, 3, 4]) {
      waiting.push(createLockQueue(shared.options(dir)).acquire(() => answered));
      await waitFor(() => existsSync(dir) && readdirSync(dir).length === n, {
        timeoutMs: 10_000,
        what: `ticket ${n}`,
      });
    }
    // The answer comes (another process committed it); the lock stays taken throughout.
    const started = Date.now();
    answered = true;
    expect(await Promise.all(waiting)).toEqual([null, null, null, null]);
    // Third and fourth in line look again only every 250 ms on their own: they were woken.
    expect(Date.now() - started).toBeLessThan(200);
    expect(shared.lock.held).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });
  it('waiters that cannot watch (inotify instances used up) poll instead of spinning, and still get their turn in order', async () => {
    const dir = queueDir();
    const shared = sharedLock();
    noWatch.on = true;
    noWatch.tries = 0;
    try {
      const order: number[] = [];
      const waiting = [0, 1, 2].map((i) =>
        createLockQueue(shared.options(dir))
          .acquire()
          .then((leave) => {
            order.push(i);
            shared.unlock();
            leave!();
          }),
      );
      await sleep(100);
      // Three waiters for 100 ms, each looking again every UNWATCHED_POLL_MS at most: a few
      // dozen tries, where a waiter that looked again at once made thousands.
      expect(noWatch.tries).toBeLessThan((3 * 100) / UNWATCHED_POLL_MS + 10);
      expect(noWatch.tries).toBeGreaterThan(0);
      shared.unlock();
      await Promise.all(waiting);
      expect(order).toEqual([0, 1, 2]);
    } finally {
      noWatch.on = false;
    }
  });
});
