/**
 * A second connection to the registry file, for stores that write a handful
 * of rows now and then (`runs`, `checkouts`): each write is one statement or
 * one short transaction, without the lock queue and group commit that
 * allocations need. Opened on first use, created and migrated as needed, by
 * the registry's own opener (database.ts: a damaged file is moved aside).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from './database.js';
import { migrate } from './migrations.js';

/** How long a write waits for another process's write lock, in milliseconds (allocations hold it for a few). */
export const SIDE_WRITE_BUSY_MS = 5_000;

/**
 * Opens the registry file in `home` on a connection of its own.
 *
 * @example
 * const db = openSideConnection({ home: '/tmp/berth' });
 */
export function openSideConnection(options: {
  home: string;
  notice?: (line: string) => void;
}): BetterSqlite3.Database {
  return openDatabase({
    home: options.home,
    ...(options.notice ? { notice: options.notice } : {}),
    busyTimeoutMs: SIDE_WRITE_BUSY_MS,
    setup: (db) => {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      migrate(db);
      // As the registry's connections: no checkpoint inside a commit, the idle ones do it.
      db.exec('PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;');
    },
  }).db;
}
