/**
 * Which ports a process tree listens on (Linux): the tree from the parent pids
 * in `/proc/<pid>/stat`, each member's socket inodes from `/proc/<pid>/fd`, and
 * the listening sockets from /proc/net/tcp{,6}. `berth up` and `berth run` use
 * it to name a service that listens on another port than berth's.
 */

import type { Listener, TreeListener, TreeSockets } from '../../core/facts.js';
import { readListenersAsync } from '../net/procnet.js';
import { PROC_ROOT } from '../procfs.js';
import { isDenied, isGone } from './errno.js';
import { processInfo } from './info.js';
import { type FdTable, parseSocketLink, procFdTable } from './sockets.js';
import { descendants, readProcStat } from './stat.js';

/** Where {@link treeListeners} reads; tests point it at a fake /proc. */
export interface TreeSocketsSource {
  /** Every visible pid and the fd tables (`/proc`). */
  fds: FdTable;
  /** The parent of a pid, `null` when it is gone. */
  parentOf: (pid: number) => number | null;
  /** The listening sockets, `null` where there is no /proc/net/tcp. */
  listeners: () => Promise<readonly Listener[] | null>;
  /** A pid's command line, `null` when unknown. */
  commandOf: (pid: number) => string | null;
}

const PROC: TreeSocketsSource = {
  fds: procFdTable(),
  parentOf: (pid) => readProcStat(pid)?.ppid ?? null,
  listeners: readListenersAsync,
  commandOf: (pid) => processInfo(pid)?.command ?? null,
};

/**
 * The ports `root`'s tree listens on, one entry per process and port.
 *
 * @example
 * await treeListeners(child.pid); // [{ pid: 4251, command: 'node .../vite', port: 5174, address: '::1' }]
 */
export async function treeListeners(
  root: number,
  source: TreeSocketsSource = PROC,
): Promise<TreeListener[] | null> {
  if (source === PROC && PROC_ROOT === null) return null;
  const listeners = await source.listeners();
  if (listeners === null) return null;
  const byInode = new Map(listeners.filter((l) => l.inode > 0).map((l) => [l.inode, l]));
  const found: TreeListener[] = [];
  for (const pid of descendants(root, source.fds.pids(), source.parentOf)) {
    let targets: string[];
    try {
      targets = source.fds.fdTargets(pid);
    } catch (error) {
      if (isGone(error) || isDenied(error)) continue;
      throw error;
    }
    for (const target of targets) {
      const inode = parseSocketLink(target);
      const listener = inode === null ? undefined : byInode.get(inode);
      if (listener === undefined || found.some((f) => f.pid === pid && f.port === listener.port)) continue;
      found.push({ pid, command: source.commandOf(pid), port: listener.port, address: listener.address });
    }
  }
  return found;
}

/**
 * The {@link TreeSockets} the composition runs on.
 *
 * @example
 * await createTreeSockets().listening(child.pid);
 */
export function createTreeSockets(): TreeSockets {
  return { listening: (root) => treeListeners(root) };
}
