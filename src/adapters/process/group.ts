/**
 * Signalling the process groups `berth up` started: the whole group
 * (`kill(-pgid)`), so a command's grandchildren go with it. Before each
 * signal the group is checked to still be ours: the leader's start time
 * (Linux) tells a reused pid, and a group id cannot be reused while any
 * process of the group lives, so a group whose leader exited is still ours
 * as long as something answers `kill(-pgid, 0)`. Windows has no groups: the
 * leader's tree is stopped with taskkill (src/adapters/process/taskkill.ts).
 */

import { createRequire } from 'node:module';
import type { ProcessGroupRef, ProcessGroups } from '../../core/facts.js';
import type { StopSignal } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { PROC_ROOT } from '../procfs.js';
import { errnoCode } from './errno.js';
import { isPid, readProcStat } from './stat.js';
import { createProcessTable } from './table.js';
import { parseTaskkill, taskkillArgs, taskkillOutcome } from './taskkill.js';

/** What the leader's pid says about a recorded group. */
type LeaderState = 'ours' | 'exited' | 'reused' | 'unknown';

function leaderState(group: ProcessGroupRef): LeaderState {
  if (PROC_ROOT === null) return 'unknown';
  const stat = readProcStat(group.pid);
  if (stat === null) return 'exited';
  if (group.startTime !== null && stat.startTicks !== group.startTime) return 'reused';
  // A zombie leader has exited; its group may live on.
  return stat.state === 'Z' ? 'exited' : 'ours';
}

/** `kill(target, signal)`: false when nothing is there (ESRCH); EPERM is `E_REFUSED`. */
function kill(target: number, signal: StopSignal | 0, group: ProcessGroupRef): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') {
      if (signal === 0) return true;
      throw new BerthError(
        'E_REFUSED',
        `the system does not let berth signal process group ${group.pgid ?? group.pid}. Stop it yourself with the rights to do so.`,
        { data: { pid: group.pid, pgid: group.pgid }, cause: error },
      );
    }
    throw error;
  }
}

function posixAlive(group: ProcessGroupRef & { pgid: number }): boolean {
  if (!isPid(group.pgid)) return false;
  const leader = leaderState(group);
  if (leader === 'reused') return false;
  if (leader === 'ours') return true;
  return kill(-group.pgid, 0, group);
}

const require = createRequire(import.meta.url);

function windowsTaskkill(group: ProcessGroupRef, force: boolean): 'sent' | 'gone' {
  // Loaded here, on Windows only: every other start of the CLI does without child_process.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync('taskkill', taskkillArgs(group.pid, force), {
    encoding: 'utf8',
    windowsHide: true,
  });
  return taskkillOutcome(parseTaskkill(`${result.stdout ?? ''}\n${result.stderr ?? ''}`), result.status);
}

/**
 * The {@link ProcessGroups} of this platform.
 *
 * @example
 * const groups = createProcessGroups();
 * if (groups.alive(run.group)) groups.signal(run.group, 'SIGTERM');
 */
export function createProcessGroups(): ProcessGroups {
  const processes = createProcessTable();
  const alive = (group: ProcessGroupRef): boolean =>
    group.pgid === null
      ? processes.isAlive({ pid: group.pid, startTime: group.startTime })
      : posixAlive({ ...group, pgid: group.pgid });
  return {
    alive,
    signal(group, signal) {
      if (!alive(group)) return 'gone';
      if (group.pgid === null) return windowsTaskkill(group, signal === 'SIGKILL');
      return kill(-group.pgid, signal, group) ? 'sent' : 'gone';
    },
  };
}
