/**
 * `/proc/<pid>/stat`: the process's name, parent and start time in one small
 * read. The start time (field 22, clock ticks since boot) is what tells a
 * reused pid from the process that owned a lease.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import type { ProcessTree } from '../../core/facts.js';
import { PROC_ROOT } from '../procfs.js';
import { isDenied, isGone } from './errno.js';
import { procFdTable } from './sockets.js';

/** The fields of `/proc/<pid>/stat` that berth uses. */
export interface ProcStat {
  pid: number;
  /** Executable name as the kernel keeps it (at most 15 bytes; may contain spaces and `)`). */
  comm: string;
  /** One-letter state: `R` running, `S` sleeping, `Z` zombie (exited, not yet reaped), ... */
  state: string;
  ppid: number;
  /** Start time in clock ticks after boot (field 22), kept as the kernel's decimal text. */
  startTicks: string;
}

const DIGITS = /^\d+$/;

/**
 * Parses the text of `/proc/<pid>/stat` (see proc(5)). `comm` sits in
 * parentheses and may itself contain spaces and `)`, so the fields after it
 * start at the LAST `)`. Returns `null` for text that is not a stat line.
 *
 * @example
 * parseProcStat('42 (my (odd) name) S 1 42 42 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 9001 0 0');
 * // { pid: 42, comm: 'my (odd) name', state: 'S', ppid: 1, startTicks: '9001' }
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pidText = text.slice(0, open).trim();
  // After `comm`: field 3 (state) is rest[0], so field N is rest[N - 3]. Only the first
  // 20 fields are split off (a whole line is 52: an owner check reads one per call).
  const rest = text.slice(close + 2).split(' ', 22 - 2);
  const state = rest[0];
  const ppidText = rest[1];
  const startTicks = rest[22 - 3]?.trim();
  if (!DIGITS.test(pidText) || state === undefined || !/^[A-Za-z]$/.test(state)) return null;
  if (
    ppidText === undefined ||
    !DIGITS.test(ppidText) ||
    startTicks === undefined ||
    !DIGITS.test(startTicks)
  ) {
    return null;
  }
  return {
    pid: Number(pidText),
    comm: text.slice(open + 1, close),
    state,
    ppid: Number(ppidText),
    startTicks,
  };
}

/** True for values that can name one process: a positive integer (0 and negatives name process groups). */
export function isPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0;
}

/** A page for {@link openProcStat}: a stat line is ~300 bytes (`comm` is at most 16). */
const page = Buffer.allocUnsafe(4096);

/**
 * Opens `/proc/<pid>/stat` and reads it with one read() (readFileSync's fstat, growing
 * buffer and second read cost a getPort call ~2 us per owner it checks); the file stays
 * open for the caller, who closes it. `null` as {@link readProcStat} answers it.
 */
export function openProcStat(
  pid: number,
  procRoot: string | null = PROC_ROOT,
): { fd: number; stat: ProcStat | null } | null {
  if (procRoot === null || !isPid(pid)) return null;
  let fd: number | undefined;
  try {
    fd = openSync(`${procRoot}/${pid}/stat`, 'r');
    return { fd, stat: parseProcStat(page.toString('utf8', 0, readSync(fd, page, 0, page.length, 0))) };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    if (isGone(error) || isDenied(error)) return null;
    throw error;
  }
}

/**
 * Reads and parses `/proc/<pid>/stat`. `null` when the process does not exist,
 * the platform has no Linux /proc, or the file cannot be read.
 *
 * @example
 * readProcStat(process.pid)?.comm; // 'node'
 */
export function readProcStat(pid: number, procRoot: string | null = PROC_ROOT): ProcStat | null {
  const opened = openProcStat(pid, procRoot);
  if (opened === null) return null;
  closeSync(opened.fd);
  return opened.stat;
}

/**
 * The opaque start-time token of a process (field 22 of `/proc/<pid>/stat`),
 * or `null` when unknown (not Linux, or no such process).
 *
 * @example
 * const owner = { pid: process.pid, startTime: readStartTime(process.pid) };
 */
export function readStartTime(pid: number): string | null {
  return readProcStat(pid)?.startTicks ?? null;
}

/**
 * `root` and every process below it, from one scan of the process table
 * (no `/proc/<pid>/task/<tid>/children` needed, which some kernels lack).
 *
 * @example
 * descendants(4242, procFdTable().pids(), (pid) => readProcStat(pid)?.ppid ?? null); // [4242, 4250, 4251]
 */
export function descendants(
  root: number,
  pids: readonly number[],
  parentOf: (pid: number) => number | null,
): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const parent = parentOf(pid);
    if (parent === null) continue;
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (tree.includes(pid)) continue;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * The {@link ProcessTree} from `/proc/<pid>/stat` (Linux); every parent is unknown elsewhere.
 *
 * @example
 * createProcessTree().parentOf(process.pid); // process.ppid
 */
export function createProcessTree(): ProcessTree {
  const parentOf = (pid: number) => readProcStat(pid)?.ppid ?? null;
  const table = procFdTable();
  return {
    parentOf,
    below: (root) =>
      PROC_ROOT !== null ? descendants(root, table.pids(), parentOf).filter((p) => p !== root) : [],
  };
}
