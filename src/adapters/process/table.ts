/**
 * The process table the core asks "does this lease's owner still live?".
 * It runs inside allocation transactions, so each question costs one
 * `kill(pid, 0)` and one read of `/proc/<pid>/stat`, whose file is kept open
 * while the owner lives: asked again, one short read of it answers.
 */

import { closeSync, readSync } from 'node:fs';
import type { ProcessTable } from '../../core/facts.js';
import type { LeaseOwner } from '../../core/types.js';
import { PROC_ROOT } from '../procfs.js';
import { errnoCode, isGone } from './errno.js';
import { isPid, openProcStat, readProcStat } from './stat.js';

/** What `kill(pid, 0)` says about a pid. */
type KillProbe = 'exists' | 'missing';

function probeWithSignalZero(pid: number): KillProbe {
  try {
    process.kill(pid, 0);
    return 'exists';
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ESRCH') return 'missing';
    // EPERM: the process exists but belongs to another user; it is alive all the same.
    if (code === 'EPERM') return 'exists';
    throw error;
  }
}

/** Start time now: on Linux a vanished stat means the process just exited; elsewhere it is simply unknown. */
function currentState(pid: number): { exited: boolean; startTime: string | null } {
  if (PROC_ROOT === null) return { exited: false, startTime: null };
  const stat = readProcStat(pid);
  // A zombie has exited and released its sockets; only its exit status waits to be collected.
  if (stat === null || stat.state === 'Z') return { exited: true, startTime: null };
  return { exited: false, startTime: stat.startTicks };
}

/**
 * The process table backed by signals and `/proc`. `self()` is read once and
 * cached (the current process does not change its start time).
 *
 * @example
 * const processes = createProcessTable();
 * const owner = processes.self();
 * processes.isAlive(owner); // true
 * processes.isAlive({ pid: owner.pid, startTime: '1' }); // false: same pid, another process
 */
export function createProcessTable(): ProcessTable {
  let cachedSelf: LeaseOwner | null = null;

  function owner(pid: number): LeaseOwner | null {
    if (!isPid(pid) || probeWithSignalZero(pid) === 'missing') return null;
    const now = currentState(pid);
    return now.exited ? null : { pid, startTime: now.startTime };
  }

  return {
    self(): LeaseOwner {
      cachedSelf ??= owner(process.pid) ?? { pid: process.pid, startTime: null };
      return cachedSelf;
    },

    owner,

    exists: (pid: number) => isPid(pid) && probeWithSignalZero(pid) === 'exists',

    isAlive(leaseOwner: LeaseOwner): boolean {
      // kill(0, 0) and kill(-n, 0) address process groups: never treat them as one process.
      if (!isPid(leaseOwner.pid)) return false;
      const known = pinned.alive(leaseOwner);
      if (known !== undefined) return known;
      if (probeWithSignalZero(leaseOwner.pid) === 'missing') return false;
      // With /proc and a start time: read it from a file kept open while the owner lives.
      const checked = pinned.check(leaseOwner);
      if (checked !== undefined) return checked;
      const now = currentState(leaseOwner.pid);
      if (now.exited) return false;
      // A different start time means the pid was reused by an unrelated process.
      if (leaseOwner.startTime !== null && now.startTime !== null)
        return leaseOwner.startTime === now.startTime;
      return true;
    },
  };
}

/** Owners whose stat file stays open, at most, in the whole process (the least recently asked is closed first). */
export const PINNED_MAX = 16;

/** Closes the files of a set whose module instance was dropped (Jest gives each test file its own). */
const closeFiles = new FinalizationRegistry<Map<string, number>>((files) => {
  for (const fd of files.values()) closeQuietly(fd);
});

/**
 * Open `/proc/<pid>/stat` files of owners found alive, by pid and start time. An open
 * stat file stays bound to its process: a read shows its state afresh (Z once it died
 * unreaped) and fails with ESRCH once it was reaped, even if the pid was given to
 * another process since. So an owner asked about again costs one read of a few bytes
 * (a held port asked for in every call: ~20 us less a call than opening and parsing
 * the file each time), and a zombie is still seen at once. The first check opens the
 * file once and keeps it: with more owners than files kept, a check costs what it did
 * before any was kept.
 */
class PinnedStats {
  private readonly files = new Map<string, number>();
  private readonly head = Buffer.allocUnsafe(128);

  constructor() {
    closeFiles.register(this, this.files);
  }

  /** `true`/`false` when a kept file answers; `undefined`: none kept, or the file could not tell. */
  alive(owner: LeaseOwner): boolean | undefined {
    if (owner.startTime === null) return undefined;
    const key = `${owner.pid}:${owner.startTime}`;
    const fd = this.files.get(key);
    if (fd === undefined) return undefined;
    let state: string | undefined;
    try {
      // `pid (comm) S ...`: comm is at most 16 bytes for a user process (kernel threads up
      // to ~64), so the state is within the first 128.
      const text = this.head.toString('latin1', 0, readSync(fd, this.head, 0, this.head.length, 0));
      state = text[text.lastIndexOf(')') + 2];
    } catch (error) {
      this.drop(key, fd);
      return isGone(error) ? false : undefined;
    }
    if (state !== undefined && /^[A-WYa-z]$/.test(state)) {
      // Most recently asked last: the first to close is the least recently asked.
      this.files.delete(key);
      this.files.set(key, fd);
      return true;
    }
    this.drop(key, fd);
    // Z: exited, not yet reaped; X: dead.
    return state === 'Z' || state === 'X' ? false : undefined;
  }

  /**
   * The full check of `owner` from its stat file (state and start time), keeping the file
   * open when it lives; `undefined` without /proc or a start time to compare.
   */
  check(owner: LeaseOwner): boolean | undefined {
    if (PROC_ROOT === null || owner.startTime === null) return undefined;
    // Gone, or not ours to read: not alive, as readProcStat answers.
    const opened = openProcStat(owner.pid);
    if (opened === null) return false;
    const { fd, stat } = opened;
    // A zombie has exited; a different start time means the pid went to another process.
    if (stat === null || stat.state === 'Z' || stat.startTicks !== owner.startTime) {
      closeQuietly(fd);
      return false;
    }
    const key = `${owner.pid}:${owner.startTime}`;
    const old = this.files.get(key);
    if (old !== undefined) this.drop(key, old);
    this.files.set(key, fd);
    if (this.files.size > PINNED_MAX) {
      const [oldest, oldFd] = this.files.entries().next().value as [string, number];
      this.drop(oldest, oldFd);
    }
    return true;
  }

  private drop(key: string, fd: number): void {
    this.files.delete(key);
    closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already; nothing to do.
  }
}

/**
 * One set for the module, whatever the number of tables made (each registry's adapters
 * make one): open files are the process's, so their bound is too.
 */
const pinned = new PinnedStats();
