/**
 * `/proc/<pid>/status`: whose process it is. berth compares this uid with its
 * own before it reports a holder as "another user's" or refuses to signal it.
 */

import { readFileSync } from 'node:fs';
import { PROC_ROOT } from '../procfs.js';
import { isDenied, isGone } from './errno.js';
import { isPid } from './stat.js';

/**
 * The real uid from the `Uid:` line of `/proc/<pid>/status` (`Uid: real
 * effective saved fs`), or `null` when the line is missing or malformed.
 * The real uid is the user who started the process; kill(2) lets that user
 * signal it even when a setuid binary changed its effective uid.
 *
 * @example
 * parseStatusUid('Name:\tnode\nUid:\t1000\t1000\t1000\t1000\n'); // 1000
 */
export function parseStatusUid(text: string): number | null {
  const match = /^Uid:\s+(\d+)\s/m.exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * The real uid of process `pid`, or `null` when unknown (not Linux, or no such process).
 *
 * @example
 * readProcessUid(process.pid) === process.getuid?.(); // true on Linux
 */
export function readProcessUid(pid: number, procRoot: string | null = PROC_ROOT): number | null {
  if (procRoot === null || !isPid(pid)) return null;
  try {
    return parseStatusUid(readFileSync(`${procRoot}/${pid}/status`, 'utf8'));
  } catch (error) {
    if (isGone(error) || isDenied(error)) return null;
    throw error;
  }
}
