/**
 * From a port to the processes that listen on it, for `berth who`, `berth check`
 * and `berth free`: on Linux, the kernel's listening sockets (read by
 * src/adapters/net/) -> socket inodes -> `/proc/<pid>/fd` -> process info;
 * elsewhere lsof / netstat.
 */
import type { Listener } from '../../core/facts.js';
import { processInfo } from './info.js';
import { type ListListenersOptions, listListenersByCommand } from './listeners-by-command.js';
import { type FdTable, procFdTable, socketOwners } from './sockets.js';

/** One process listening on the port, on one address. */
export interface PortHolder {
  pid: number;
  /** Login name (or numeric uid as text), `null` when the source does not say. */
  user: string | null;
  uid: number | null;
  /** Command line (Linux) or command name (lsof, macOS netstat); `null` when unknown (Windows netstat). */
  command: string | null;
  /** Epoch milliseconds, `null` when unknown. */
  startedAt: number | null;
  /** Listening address: `0.0.0.0`, `::`, `127.0.0.1`, `::1`, ...; `*` from lsof / macOS netstat for every address. */
  address: string;
}

/** A listening socket on the port whose process berth cannot see. */
export interface HiddenListener {
  address: string;
  /** Owner uid of the socket as the kernel reports it, `null` when unknown. */
  uid: number | null;
  /**
   * `other-user`: the socket belongs to another uid, or some process's fds were
   * closed to us. `unknown`: no visible process holds it (another pid namespace,
   * or the holder exited during the scan).
   */
  reason: 'other-user' | 'unknown';
}

/** Everything known about who listens on a port. Nothing listens when both lists are empty. */
export interface PortHolders {
  port: number;
  holders: PortHolder[];
  hidden: HiddenListener[];
}

/** Options for {@link findPortHolders}. */
export interface FindPortHoldersOptions {
  /** The fd tables to scan; default `/proc`. */
  fds?: FdTable;
  /** The current uid, to tell another user's socket; default `process.getuid()`. */
  uid?: number | null;
  /** Platform and runner for the lsof / netstat fall-back (tests replace them). */
  command?: ListListenersOptions;
}

/**
 * Who listens on `port`. Pass the kernel's listeners (`KernelFacts.listeners()`,
 * read fresh); `null` (no cheap table on this platform) falls back to lsof /
 * netstat. A listener whose process cannot be seen is reported in `hidden`,
 * never dropped, so a port held by another user's process never reads as free.
 *
 * @example
 * const { holders, hidden } = await findPortHolders(3000, kernel.listeners());
 * for (const h of holders) console.log(`${h.pid} ${h.user} ${h.command} on ${h.address}`);
 */
export async function findPortHolders(
  port: number,
  listeners: readonly Listener[] | null,
  options: FindPortHoldersOptions = {},
): Promise<PortHolders> {
  if (listeners === null) {
    const found = await listListenersByCommand(port, options.command);
    const holders = found.map(({ pid, user, uid, command, address }) => ({
      pid,
      user,
      uid,
      command,
      startedAt: null,
      address,
    }));
    return { port, holders, hidden: [] };
  }
  const onPort = listeners.filter((listener) => listener.port === port);
  const inodes = new Set(onPort.map((listener) => listener.inode).filter((inode) => inode > 0));
  const { owners, unreadable } = socketOwners(inodes, options.fds ?? procFdTable());
  const selfUid = options.uid !== undefined ? options.uid : (process.getuid?.() ?? null);
  const holders: PortHolder[] = [];
  const hidden: HiddenListener[] = [];
  for (const listener of onPort) {
    const uid = listener.uid >= 0 ? listener.uid : null;
    const infos = (owners.get(listener.inode) ?? []).map(processInfo).filter((info) => info !== null);
    for (const info of infos) holders.push({ ...info, address: listener.address });
    if (infos.length > 0) continue;
    const otherUser = (uid !== null && selfUid !== null && uid !== selfUid) || unreadable.length > 0;
    hidden.push({ address: listener.address, uid, reason: otherUser ? 'other-user' : 'unknown' });
  }
  return { port, holders, hidden };
}
