/**
 * From socket inodes to the processes that hold them (Linux): every open fd
 * is a link in `/proc/<pid>/fd`, and a socket's link reads `socket:[<inode>]`.
 * The inode of a LISTEN socket comes from /proc/net/tcp (src/adapters/net/).
 */

import { readdirSync, readlinkSync } from 'node:fs';
import { PROC_ROOT } from '../procfs.js';
import { isDenied, isGone } from './errno.js';

/** The view of the fd tables that {@link socketOwners} scans; `/proc` in production, plain data in tests. */
export interface FdTable {
  /** Every visible process id. */
  pids(): number[];
  /**
   * The link targets of the process's open fds (`socket:[123]`, `/dev/null`, ...).
   * Throws the system error (ENOENT when the process exited, EACCES for another user's process).
   */
  fdTargets(pid: number): string[];
}

/** Who holds which socket, and how many processes could not be looked into. */
export interface SocketOwners {
  /** Socket inode -> every pid with an fd on it (several when a server forked after listen). */
  owners: Map<number, number[]>;
  /**
   * Pids whose fd table was closed to us (another user's processes, EACCES). A
   * wanted inode that has no owner while this is non-empty is most likely held
   * by one of them: say so, never "free".
   */
  unreadable: number[];
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/**
 * The inode of an fd link target, or `null` for anything that is not a socket.
 *
 * @example
 * parseSocketLink('socket:[183742]'); // 183742
 * parseSocketLink('pipe:[183742]'); // null
 */
export function parseSocketLink(target: string): number | null {
  const match = SOCKET_LINK.exec(target);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * The fd tables under a /proc mount. Off Linux there is no such mount and the
 * table is empty: use `listListenersByCommand` there.
 *
 * @example
 * socketOwners(new Set([183742]), procFdTable());
 */
export function procFdTable(procRoot: string | null = PROC_ROOT): FdTable {
  return {
    pids(): number[] {
      if (procRoot === null) return [];
      let names: string[];
      try {
        names = readdirSync(procRoot);
      } catch (error) {
        if (isGone(error)) return [];
        throw error;
      }
      return names.filter((name) => /^\d+$/.test(name)).map(Number);
    },
    fdTargets(pid: number): string[] {
      const dir = `${procRoot}/${pid}/fd`;
      const targets: string[] = [];
      for (const fd of readdirSync(dir)) {
        try {
          targets.push(readlinkSync(`${dir}/${fd}`));
        } catch (error) {
          // The fd was closed between the listing and the read.
          if (!isGone(error)) throw error;
        }
      }
      return targets;
    },
  };
}

/**
 * Maps each wanted socket inode to the pids that hold it, scanning every
 * visible process's fds once. Processes that exit during the scan are skipped;
 * processes whose fds we may not read are listed in `unreadable`.
 *
 * @example
 * const { owners, unreadable } = socketOwners(new Set([listener.inode]));
 * const pids = owners.get(listener.inode) ?? [];
 * if (pids.length === 0 && unreadable.length > 0) console.log('held by a process of another user');
 */
export function socketOwners(inodes: ReadonlySet<number>, fds: FdTable = procFdTable()): SocketOwners {
  const owners = new Map<number, number[]>();
  const unreadable: number[] = [];
  if (inodes.size === 0) return { owners, unreadable };
  for (const pid of fds.pids()) {
    let targets: string[];
    try {
      targets = fds.fdTargets(pid);
    } catch (error) {
      if (isGone(error)) continue;
      if (isDenied(error)) {
        unreadable.push(pid);
        continue;
      }
      throw error;
    }
    for (const target of targets) {
      const inode = parseSocketLink(target);
      if (inode === null || !inodes.has(inode)) continue;
      const pids = owners.get(inode) ?? [];
      // A process may hold the same socket on several fds (dup); list it once.
      if (!pids.includes(pid)) pids.push(pid);
      owners.set(inode, pids);
    }
  }
  return { owners, unreadable };
}
