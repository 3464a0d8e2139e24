/**
 * The process table the core asks "does this lease's owner still live?".
 * It runs inside allocation transactions, so each question costs one
 * `kill(pid, 0)` and at most one read of `/proc/<pid>/stat`.
 */

import type { ProcessTable } from '../../core/facts.js';
import type { LeaseOwner } from '../../core/types.js';
import { PROC_ROOT } from '../procfs.js';
import { errnoCode } from './errno.js';
import { isPid, readProcStat } from './stat.js';

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
      if (!isPid(leaseOwner.pid) || probeWithSignalZero(leaseOwner.pid) === 'missing') return false;
      const now = currentState(leaseOwner.pid);
      if (now.exited) return false;
      // A different start time means the pid was reused by an unrelated process.
      if (leaseOwner.startTime !== null && now.startTime !== null)
        return leaseOwner.startTime === now.startTime;
      return true;
    },
  };
}
