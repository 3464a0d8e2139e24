/**
 * Stops the process that holds a port (`berth free`): refuse the processes
 * berth must never touch, re-check ownership right before signalling, SIGTERM,
 * wait, and SIGKILL only when asked to.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessStopper, StopOptions, StopOutcome } from '../../core/facts.js';
import type { LeaseOwner } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { errnoCode } from './errno.js';
import { isPid } from './stat.js';
import { readProcessUid } from './status.js';
import { createProcessTable } from './table.js';

// The shapes belong to the core (src/core/facts.ts); re-exported for this adapter's callers.
export type { StopOptions, StopOutcome } from '../../core/facts.js';

/** How often the wait after a signal checks whether the process exited, in milliseconds. */
export const STOP_POLL_INTERVAL_MS = 50;

/** How long to wait for a SIGKILLed process to disappear, in milliseconds (it may sit in an uninterruptible sleep). */
export const KILL_WAIT_MS = 2_000;

/** The process that would be signalled. `uid` is `null` when unknown. */
export interface StopTarget {
  pid: number;
  uid: number | null;
}

/** The process doing the signalling. `uid` is `null` where there are no uids (Windows). */
export interface StopSelf {
  pid: number;
  ppid: number;
  uid: number | null;
}

/**
 * Why berth must not signal `target`, or `null` when it may. Each reason ends
 * with what the user can do instead.
 *
 * @example
 * whyNotStop({ pid: 1, uid: 0 }, { pid: 4242, ppid: 4000, uid: 1000 });
 * // 'pid 1 is the init process; berth never signals it. Stop the service through its service manager.'
 */
export function whyNotStop(target: StopTarget, self: StopSelf): string | null {
  if (!isPid(target.pid)) {
    return `${target.pid} is not a process id (0 and negative ids address whole process groups). Give the pid of one process.`;
  }
  if (target.pid === 1) {
    return 'pid 1 is the init process; berth never signals it. Stop the service through its service manager.';
  }
  if (target.pid === self.pid) {
    return `pid ${target.pid} is berth itself. Release the port with \`berth release\` instead.`;
  }
  if (target.pid === self.ppid) {
    return `pid ${target.pid} is the parent of this berth process (likely your shell). Stop it yourself if you mean to.`;
  }
  if (target.uid !== null && self.uid !== null && target.uid !== self.uid) {
    return `pid ${target.pid} belongs to another user (uid ${target.uid}); berth only stops your own processes. Ask its owner, or stop it yourself with the rights to do so.`;
  }
  if (target.uid === null && self.uid === 0) {
    // As root the kernel would let any signal through, so an unknown owner cannot be ruled out as another user.
    return `cannot tell which user owns pid ${target.pid}, and as root berth could signal anyone's process. Stop it yourself after checking its owner.`;
  }
  return null;
}

function send(pid: number, signal: NodeJS.Signals): 'sent' | 'missing' {
  try {
    process.kill(pid, signal);
    return 'sent';
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ESRCH') return 'missing';
    if (code === 'EPERM') {
      throw new BerthError(
        'E_REFUSED',
        `the system does not let berth signal pid ${pid}. Stop it yourself with the rights to do so.`,
        { data: { pid, signal }, cause: error },
      );
    }
    throw error;
  }
}

/** Polls with timers until `owner` is gone or `ms` passed; true when it exited. */
async function waitForExit(
  owner: LeaseOwner,
  ms: number,
  isAlive: (owner: LeaseOwner) => boolean,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(owner)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(STOP_POLL_INTERVAL_MS, left));
  }
  return true;
}

/**
 * Stops process `pid`: refuses pid 1, berth itself, its parent and other
 * users' processes (`E_REFUSED`); asks `stillOwnsPort()` right before
 * signalling; sends SIGTERM and waits up to `graceMs`; with `force`, then
 * sends SIGKILL. The process is followed by its start time, so a pid reused
 * during the wait is never signalled.
 *
 * @example
 * const outcome = await stopProcess(4242, { force: false, graceMs: 5000, stillOwnsPort: () => true });
 * if (outcome === 'survived') console.log('pid 4242 ignored SIGTERM. Use --force to send SIGKILL.');
 */
export async function stopProcess(pid: number, options: StopOptions): Promise<StopOutcome> {
  const processes = createProcessTable();
  const isAlive = (owner: LeaseOwner): boolean => processes.isAlive(owner);
  const self: StopSelf = { pid: process.pid, ppid: process.ppid, uid: process.getuid?.() ?? null };
  // A process that is already gone needs no refusal; a non-pid (0, -1) falls through to be refused.
  const target = processes.owner(pid);
  if (target === null && isPid(pid)) return 'gone';
  const uid = options.uid !== undefined ? options.uid : readProcessUid(pid);
  if (target !== null && uid === null && !isAlive(target)) return 'gone';
  // `target` is null here only for a non-pid, which whyNotStop always refuses.
  const refusal = whyNotStop({ pid, uid }, self);
  if (refusal !== null || target === null) {
    throw new BerthError('E_REFUSED', refusal ?? `${pid} is not a process id. Give the pid of one process.`, {
      data: { pid, uid },
    });
  }

  if (!(await options.stillOwnsPort())) return 'gone';
  // The pid could have been reused while stillOwnsPort ran; its start time tells.
  if (!isAlive(target) || send(pid, 'SIGTERM') === 'missing') return 'gone';
  if (await waitForExit(target, options.graceMs, isAlive)) return 'stopped';
  if (!options.force) return 'survived';

  if (!isAlive(target)) return 'stopped';
  if (send(pid, 'SIGKILL') === 'missing') return 'stopped';
  return (await waitForExit(target, KILL_WAIT_MS, isAlive)) ? 'killed' : 'survived';
}

/**
 * The {@link ProcessStopper} the composition runs on: {@link stopProcess}.
 *
 * @example
 * await createProcessStopper().stop(4242, { force: false, graceMs: 3000, stillOwnsPort: () => true });
 */
export function createProcessStopper(): ProcessStopper {
  return { stop: stopProcess };
}
