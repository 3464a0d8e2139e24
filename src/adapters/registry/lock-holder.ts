/**
 * Who holds the registry's write lock. In WAL mode SQLite's writer lock is a
 * POSIX record lock on byte 120 of the `-shm` file (WALINDEX_LOCK_OFFSET +
 * WAL_WRITE_LOCK in SQLite's os_unix.c), and Linux lists every record lock
 * with its owner's pid in `/proc/locks`. Read only when a wait has timed out,
 * so `E_REGISTRY_LOCKED` can name the process to look at.
 */

import { readFileSync, statSync } from 'node:fs';
import { processInfo } from '../process/info.js';
import { PROC_ROOT } from '../procfs.js';

/** Longest command line shown in a message, in characters (a `node -e` script can be pages long). */
const COMMAND_SHOWN = 120;

/** Byte of the `-shm` file that SQLite locks for the one writer of a WAL database. */
export const WAL_WRITE_LOCK_BYTE = 120;

/** One record lock from `/proc/locks`. */
export interface RecordLock {
  /** `POSIX`, `OFDLCK` or `FLOCK`. */
  kind: string;
  /** `READ` or `WRITE`. */
  mode: string;
  /** Owner pid; -1 for open-file-description locks, which have none. */
  pid: number;
  inode: number;
  start: number;
  /** Last byte, `Infinity` for "to end of file". */
  end: number;
}

/**
 * Parses the text of `/proc/locks` (see proc(5)); waiters (`->` lines) and
 * malformed lines are skipped.
 *
 * @example
 * parseProcLocks('1: POSIX  ADVISORY  WRITE 4242 fd:01:1835106 120 120\n');
 * // [{ kind: 'POSIX', mode: 'WRITE', pid: 4242, inode: 1835106, start: 120, end: 120 }]
 */
export function parseProcLocks(text: string): RecordLock[] {
  const out: RecordLock[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === '->') continue;
    const [, kind, , mode, pid, device, start, end] = fields;
    const inode = device?.split(':')[2];
    if (!kind || !mode || !pid || !inode || !start || !end) continue;
    if (!/^-?\d+$/.test(pid) || !/^\d+$/.test(inode) || !/^\d+$/.test(start)) continue;
    if (end !== 'EOF' && !/^\d+$/.test(end)) continue;
    out.push({
      kind,
      mode,
      pid: Number(pid),
      inode: Number(inode),
      start: Number(start),
      end: end === 'EOF' ? Number.POSITIVE_INFINITY : Number(end),
    });
  }
  return out;
}

/** The pid holding the write lock of the WAL database at `dbPath`, or `null` when unknown. */
export function writeLockHolderPid(dbPath: string, locks?: readonly RecordLock[]): number | null {
  try {
    const inode = statSync(`${dbPath}-shm`).ino;
    if (locks === undefined && PROC_ROOT === null) return null;
    const table = locks ?? parseProcLocks(readFileSync(`${PROC_ROOT}/locks`, 'utf8'));
    const held = table.find(
      (l) =>
        l.inode === inode &&
        l.mode === 'WRITE' &&
        l.pid > 0 &&
        l.start <= WAL_WRITE_LOCK_BYTE &&
        l.end >= WAL_WRITE_LOCK_BYTE,
    );
    return held?.pid ?? null;
  } catch {
    return null; // no /proc/locks (macOS, Windows) or no -shm file
  }
}

/**
 * A description of the write lock's holder for messages: `pid 4242 (node test.js)`,
 * or `null` when it cannot be told.
 *
 * @example
 * describeWriteLockHolder('/home/ada/.local/state/berth/registry.db'); // 'pid 4242 (sqlite3 registry.db)'
 */
export function describeWriteLockHolder(dbPath: string): string | null {
  const pid = writeLockHolderPid(dbPath);
  if (pid === null) return null;
  const full = processInfo(pid)?.command.replace(/\s+/g, ' ').trim();
  if (!full) return `pid ${pid}`;
  const command = full.length > COMMAND_SHOWN ? `${full.slice(0, COMMAND_SHOWN - 1)}…` : full;
  return `pid ${pid} (${command})`;
}
