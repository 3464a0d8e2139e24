/**
 * Where a registry's lock queue keeps its tickets (see lock-queue.ts). Every
 * wait creates a ticket file and removes it; on a journalling disk (ext4) each
 * of those is a journal operation that waits behind any fsync on the machine,
 * another process's included, while the holder's removal of its ticket is on
 * the path of every hand-off (issue #22: in a burst of 32 processes the
 * queue's file operations were a quarter of the wall time). On Linux the
 * tickets live in memory, in a folder of /dev/shm (tmpfs) named for the
 * registry and owned by this user alone; elsewhere, or when that folder is not
 * safe to use, beside the registry as before. Two processes that reach one
 * registry through different folders only lose the queue's order, never
 * safety: SQLite's lock is what excludes.
 */
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Folder of the lock queue's tickets inside BERTH_HOME, where /dev/shm is not used. */
export const LOCK_QUEUE_DIR = 'lock-queue';

/** The in-memory file system Linux offers every user. */
const SHARED_MEMORY = '/dev/shm';

/**
 * The ticket folder for the registry file at `registryPath` (`sharedMemory`: for tests).
 *
 * @example
 * lockQueueDir('/home/ada/.local/state/berth/registry.db') // '/dev/shm/berth-1000/q-1f3a…' on Linux
 */
export function lockQueueDir(registryPath: string, sharedMemory = SHARED_MEMORY): string {
  const home = dirname(registryPath);
  const fallback = join(home, LOCK_QUEUE_DIR);
  const uid = process.getuid?.();
  if (process.platform !== 'linux' || uid === undefined) return fallback;
  const mine = join(sharedMemory, `berth-${uid}`);
  try {
    mkdirSync(mine, { mode: 0o700 });
  } catch {
    // It exists (checked below), or /dev/shm is missing or read-only.
  }
  try {
    // Another user may have made the folder first (/dev/shm is writable by all): only a
    // real folder of ours that no one else may enter holds our tickets.
    const stat = lstatSync(mine);
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) return fallback;
    return join(mine, `q-${pathKey(realpathSync(home))}`);
  } catch {
    return fallback;
  }
}

/** A file name for `path`: two 32-bit FNV-1a hashes (different offsets), 16 hex digits. */
function pathKey(path: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
