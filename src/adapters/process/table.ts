/**
 * The process table the core asks "does this lease's owner still live?".
 * It runs inside allocation transactions, so each question costs one
 * `kill(pid, 0)` and at most one read of `/proc/<pid>/stat`; an owner found
 * alive before is asked again with one short read of its stat file kept open.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import type { ProcessTable } from '../../core/facts.js';
import type { LeaseOwner } from '../../core/types.js';
import { PROC_ROOT } from '../procfs.js';
import { errnoCode, isGone } from './errno.js';
import { isPid, parseProcStat, readFd, readProcStat } from './stat.js';

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
      const now = currentState(leaseOwner.pid);
      if (now.exited) return false;
      // A different start time means the pid was reused by an unrelated process.
      if (leaseOwner.startTime !== null && now.startTime !== null) {
        if (leaseOwner.startTime !== now.startTime) return false;
        pinned.pin(leaseOwner);
      }
      return true;
    },
  };
}

/** Owners whose stat file stays open, at most, in the whole process (the oldest is closed first). */
export const PINNED_MAX = 16;

/**
 * Open `/proc/<pid>/stat` files of owners found alive, by pid and start time. An open
 * stat file stays bound to its process: a read shows its state afresh (Z once it died
 * unreaped) and fails with ESRCH once it was reaped, even if the pid was given to
 * another process since. So an owner asked about again costs one read of a few bytes
 * (a held port asked for in every call: ~20 us less a call than opening and parsing
 * the file each time), and a zombie is still seen at once.
 */
class PinnedStats {
  private readonly files = new Map<string, number>();
  private readonly head = Buffer.allocUnsafe(64);

  /** `true`/`false` when a pinned file answers; `undefined`: not pinned, or the file could not tell. */
  alive(owner: LeaseOwner): boolean | undefined {
    if (owner.startTime === null) return undefined;
    const key = `${owner.pid}:${owner.startTime}`;
    const fd = this.files.get(key);
    if (fd === undefined) return undefined;
    let state: string | undefined;
    try {
      // `pid (comm) S ...`: comm is at most 16 bytes, so the state is within the first 64.
      const text = this.head.toString('latin1', 0, readSync(fd, this.head, 0, this.head.length, 0));
      state = text[text.lastIndexOf(')') + 2];
    } catch (error) {
      this.unpin(key, fd);
      return isGone(error) ? false : undefined;
    }
    if (state !== undefined && /^[A-WYa-z]$/.test(state)) return true;
    this.unpin(key, fd);
    // Z: exited, not yet reaped; X: dead.
    return state === 'Z' || state === 'X' ? false : undefined;
  }

  /** Keeps the stat file of `owner`, just found alive, open; only if the file opened is that very process. */
  pin(owner: LeaseOwner): void {
    if (PROC_ROOT === null || owner.startTime === null) return;
    const key = `${owner.pid}:${owner.startTime}`;
    if (this.files.has(key)) return;
    let fd: number;
    try {
      fd = openSync(`${PROC_ROOT}/${owner.pid}/stat`, 'r');
    } catch {
      return;
    }
    let stat: ReturnType<typeof parseProcStat> = null;
    try {
      stat = parseProcStat(readFd(fd));
    } catch {
      stat = null;
    }
    // The pid may have been reused between the check and the open: pin only the same process.
    if (stat?.startTicks !== owner.startTime || stat.state === 'Z') {
      closeSync(fd);
      return;
    }
    this.files.set(key, fd);
    if (this.files.size > PINNED_MAX) {
      const [oldest, oldFd] = this.files.entries().next().value as [string, number];
      this.unpin(oldest, oldFd);
    }
  }

  private unpin(key: string, fd: number): void {
    this.files.delete(key);
    try {
      closeSync(fd);
    } catch {
      // Closed already; nothing to do.
    }
  }
}

/**
 * One set for the process, whatever the number of tables made (each registry's adapters
 * make one): open files are the process's, so their bound is too.
 */
const pinned = new PinnedStats();
