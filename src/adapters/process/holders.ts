/**
 * From a port to the processes that listen on it, for `berth who`, `berth check`
 * and `berth free`: on Linux, the kernel's listening sockets (read by
 * src/adapters/net/) -> socket inodes -> `/proc/<pid>/fd` -> process info;
 * elsewhere lsof / netstat.
 */
import type { HiddenListener, HolderFinder, Listener, PortHolder, PortHolders } from '../../core/facts.js';
import { processInfo } from './info.js';
import { type ListListenersOptions, listListenersByCommand } from './listeners-by-command.js';
import { type FdTable, procFdTable, socketOwners } from './sockets.js';

// The shapes belong to the core (src/core/facts.ts); re-exported for this adapter's callers.
export type { HiddenListener, PortHolder, PortHolders } from '../../core/facts.js';

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

/**
 * The {@link HolderFinder} the composition runs on: {@link findPortHolders} over /proc
 * (lsof / netstat elsewhere).
 *
 * @example
 * const found = await createHolderFinder().find(3000, await readListenersAsync());
 */
export function createHolderFinder(): HolderFinder {
  return { find: (port, listeners) => findPortHolders(port, listeners) };
}
