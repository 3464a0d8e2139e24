/**
 * Who a process is, for `berth who` and `berth check`: user, command line and
 * since when, read from /proc (Linux).
 */

import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { UserNames } from '../../core/facts.js';
import { PROC_ROOT } from '../procfs.js';
import { isDenied, isGone } from './errno.js';
import { isPid, readProcStat } from './stat.js';
import { readProcessUid } from './status.js';

/**
 * Clock ticks per second of the start time in `/proc/<pid>/stat` (sysconf
 * `_SC_CLK_TCK`). The kernel reports it in USER_HZ, which is 100 on every
 * architecture Node runs on (proc(5); include/asm-generic/param.h `USER_HZ 100`).
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** A process as `berth who` shows it. */
export interface ProcessInfo {
  pid: number;
  /** Login name, or the numeric uid as text when no name is known. */
  user: string;
  uid: number;
  /** The full command line, arguments joined by spaces; `[comm]` for kernel threads and zombies. */
  command: string;
  /** When the process started, epoch milliseconds (to the second), or `null` when unknown. */
  startedAt: number | null;
}

/**
 * Turns the NUL-separated `/proc/<pid>/cmdline` into one line.
 *
 * @example
 * parseCmdline('node\0server.js\0--port\x003000\0'); // 'node server.js --port 3000'
 */
export function parseCmdline(raw: string): string {
  return raw
    .split('\0')
    .filter((arg) => arg.length > 0)
    .join(' ');
}

/**
 * Maps uid -> login name from the text of `/etc/passwd`
 * (`name:password:uid:gid:gecos:home:shell`). Comments, blank and malformed
 * lines are skipped; the first entry of a uid wins, as getpwuid(3) does.
 *
 * @example
 * parsePasswd('root:x:0:0:root:/root:/bin/bash\n').get(0); // 'root'
 */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const fields = line.split(':');
    const name = fields[0];
    const uid = fields[2];
    if (fields.length < 7 || !name || uid === undefined || !/^\d+$/.test(uid)) continue;
    if (!users.has(Number(uid))) users.set(Number(uid), name);
  }
  return users;
}

/**
 * The boot time from the text of `/proc/stat` (`btime <seconds since the epoch>`),
 * in epoch milliseconds, or `null` when the line is missing.
 *
 * @example
 * parseBootTime('cpu  1 2 3\nbtime 1700000000\n'); // 1700000000000
 */
export function parseBootTime(text: string): number | null {
  const match = /^btime\s+(\d+)\s*$/m.exec(text);
  return match?.[1] === undefined ? null : Number(match[1]) * 1000;
}

/**
 * When a process started, in epoch milliseconds: boot time plus its start ticks.
 *
 * @example
 * startedAtFromTicks(1_700_000_000_000, '12345'); // 1_700_000_123_450
 */
export function startedAtFromTicks(bootTimeMs: number, startTicks: string): number {
  return bootTimeMs + Math.round((Number(startTicks) * 1000) / CLOCK_TICKS_PER_SECOND);
}

/** Reads a small /proc or /etc file; `null` when it is gone or closed to us. */
function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (isGone(error) || isDenied(error)) return null;
    throw error;
  }
}

function userName(uid: number): string {
  // The current user may come from NSS (LDAP, systemd-homed) rather than /etc/passwd.
  if (uid === process.getuid?.()) {
    try {
      return userInfo().username;
    } catch {
      // No passwd entry at all (a container started with an arbitrary uid): fall through.
    }
  }
  const passwd = readOptional('/etc/passwd');
  return (passwd === null ? undefined : parsePasswd(passwd).get(uid)) ?? String(uid);
}

/**
 * Who process `pid` is: user, command line and start time. `null` when the
 * process does not exist or the platform has no Linux /proc (off Linux, the
 * lsof / netstat fall-backs report command and user instead).
 *
 * @example
 * processInfo(process.pid); // { pid: 4242, user: 'ada', uid: 1000, command: 'node server.js', startedAt: 1700000123450 }
 */
export function processInfo(pid: number): ProcessInfo | null {
  if (PROC_ROOT === null || !isPid(pid)) return null;
  const stat = readProcStat(pid);
  const uid = readProcessUid(pid);
  if (stat === null || uid === null) return null;
  const cmdline = readOptional(`${PROC_ROOT}/${pid}/cmdline`);
  // Kernel threads and zombies have an empty cmdline; ps shows their name in brackets.
  const command = (cmdline === null ? '' : parseCmdline(cmdline)) || `[${stat.comm}]`;
  const procStat = readOptional(`${PROC_ROOT}/stat`);
  const bootTimeMs = procStat === null ? null : parseBootTime(procStat);
  return {
    pid,
    user: userName(uid),
    uid,
    command,
    startedAt: bootTimeMs === null ? null : startedAtFromTicks(bootTimeMs, stat.startTicks),
  };
}

/**
 * The {@link UserNames} the composition runs on: the current user from the OS
 * (NSS included), others from `/etc/passwd`, the uid as text when neither knows.
 *
 * @example
 * createUserNames().nameOf(0); // 'root'
 */
export function createUserNames(): UserNames {
  return {
    nameOf: (uid) => {
      try {
        return userName(uid);
      } catch {
        // An unreadable /etc/passwd (not merely missing or closed to us) still names nobody.
        return String(uid);
      }
    },
    selfUid: () => process.getuid?.() ?? null,
  };
}
