/**
 * Starting a node script that outlives its parent: its own process group (so a
 * terminal's Ctrl-C, sent to the foreground group, does not reach it), no
 * stdio (so it holds none of the parent's pipes), unreferenced (so the parent
 * exits without waiting for it). A test run's watchdog is one.
 */
import { spawn } from 'node:child_process';
import type { ProcessGroupRef } from '../../core/facts.js';
import { readStartTime } from './stat.js';

/**
 * Starts `node script` detached, with `env` over this process's environment.
 * Returns its group (leader pid, group id, start time), or `null` when it could not start.
 *
 * @example
 * const group = startDetached('/path/to/watchdog.js', { BERTH_WATCHDOG: '{...}' });
 */
export function startDetached(script: string, env: Record<string, string>): ProcessGroupRef | null {
  const windows = process.platform === 'win32';
  const child = spawn(process.execPath, [script], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ...env },
    windowsHide: true,
  });
  child.on('error', () => {});
  child.unref();
  if (child.pid === undefined) return null;
  return { pid: child.pid, pgid: windows ? null : child.pid, startTime: readStartTime(child.pid) };
}
