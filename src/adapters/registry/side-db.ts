/**
 * A second connection to the registry file, for stores that write a handful
 * of rows now and then (`runs`, `checkouts`): each write is one statement or
 * one short transaction, without the lock queue and group commit that
 * allocations need. Opened on first use, created and migrated as needed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { BerthError } from '../../errors.js';
import { migrate } from './migrations.js';
import { loadSqlite, REGISTRY_FILE } from './sqlite.js';

/** How long a write waits for another process's write lock, in milliseconds (allocations hold it for a few). */
export const SIDE_WRITE_BUSY_MS = 5_000;

/**
 * Opens the registry file in `home` on a connection of its own.
 *
 * @example
 * const db = openSideConnection('/tmp/berth');
 */
export function openSideConnection(home: string): BetterSqlite3.Database {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, REGISTRY_FILE);
  const { Database, addon } = loadSqlite();
  try {
    const db = new Database(path, {
      timeout: SIDE_WRITE_BUSY_MS,
      ...(addon ? { nativeBinding: addon as unknown as string } : {}),
    });
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    migrate(db);
    // As the registry's connections: no checkpoint inside a commit, the idle ones do it.
    db.exec('PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;');
    return db;
  } catch (error) {
    if (error instanceof BerthError) throw error;
    throw new BerthError(
      'E_REGISTRY',
      `cannot open the registry ${path}: ${(error as Error).message}. Check the folder's permissions or set BERTH_HOME to a writable folder.`,
      { cause: error },
    );
  }
}
