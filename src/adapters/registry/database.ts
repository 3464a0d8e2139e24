/**
 * Opening the registry file, for both of its connections (the registry's and the
 * run store's): create the folder, open, set up and migrate, wait out another
 * process's migration, and tell a damaged file from a folder berth may not use.
 *
 * A damaged file (overwritten by garbage, a bad copy, a disk fault: SQLite says
 * SQLITE_NOTADB or SQLITE_CORRUPT) is moved aside with its `-wal` and `-shm`
 * (`registry.db.corrupt-<time>`) and a fresh registry is started: leases are
 * learned again as processes ask, and the kernel still shows who listens. The
 * move happens only after an integrity check of that file confirms the damage,
 * under a lock, and only if the file is still the one that failed (same inode),
 * so two processes meeting the damage at once never move a fresh registry aside.
 * The full check runs only then, never on a normal open (it would cost every
 * `berth get`). A damaged file met later, inside a transaction, leaves a marker
 * that makes the next open check the file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { BerthError } from '../../errors.js';
import { BUNDLED_VERSION, bundledBetterSqlite3 } from './better-sqlite3-js.js';

/** File name of the registry inside BERTH_HOME. */
export const REGISTRY_FILE = 'registry.db';

/** Busy timeout while opening and migrating: a one-off, synchronous step at start-up, in milliseconds. */
const OPEN_BUSY_TIMEOUT_MS = 10_000;

/** Longest wait for another process's move of a damaged file, in milliseconds. */
const RECOVERY_LOCK_WAIT_MS = 10_000;

// better-sqlite3 is CommonJS; require() loads it faster than the ESM loader does.
const require = createRequire(import.meta.url);

let sqlite: { Database: typeof BetterSqlite3; addon: object | undefined } | undefined;

/**
 * Loads better-sqlite3 and its compiled addon, once per process. The library
 * entry calls it at import, as get-port loads node:net at import, so a burst of
 * calls does not pay ~10 ms of module loading after it starts; the CLI loads
 * it only in the commands that open the registry.
 *
 * The addon is loaded from where `npm install` builds it: that skips the
 * `bindings` package's search of a dozen candidate paths (about 10 ms of every
 * CLI start measured here); elsewhere better-sqlite3 searches as usual. The
 * CLI's bundle carries better-sqlite3's JavaScript (./better-sqlite3-js.ts), used
 * when the installed package is the version it was built from and its addon
 * is found; otherwise the installed package is loaded.
 */
export function loadSqlite(): { Database: typeof BetterSqlite3; addon: object | undefined } {
  if (sqlite) return sqlite;
  let addon: object | undefined;
  let version: string | undefined;
  try {
    const manifest = require.resolve('better-sqlite3/package.json');
    const path = join(dirname(manifest), 'build/Release/better_sqlite3.node');
    if (existsSync(path)) addon = require(path) as object;
    if (BUNDLED_VERSION !== undefined) {
      version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
    }
  } catch {
    addon = undefined;
  }
  const Database = useBundledSqlite(BUNDLED_VERSION, version, addon !== undefined)
    ? bundledBetterSqlite3()
    : (require('better-sqlite3') as typeof BetterSqlite3);
  sqlite = { Database, addon };
  return sqlite;
}

/**
 * Whether to use the better-sqlite3 JavaScript bundled into this build: only beside the
 * addon of the very version it was built from (the JavaScript calls the addon's internals),
 * and only when that addon was found (without it, the installed package's search for it runs).
 *
 * @example
 * useBundledSqlite('12.11.1', '12.11.1', true); // true
 * useBundledSqlite('12.11.1', '12.12.0', true); // false: the installed package is loaded
 */
export function useBundledSqlite(
  bundled: string | undefined,
  installed: string | undefined,
  addonFound: boolean,
): boolean {
  return bundled !== undefined && addonFound && installed === bundled;
}

/** What {@link openDatabase} needs. */
export interface OpenDatabaseOptions {
  /** BERTH_HOME: the folder of registry.db, created (mode 0700) when missing. */
  home: string;
  /** SQLite's busy timeout for the connection while it is set up, in milliseconds. */
  busyTimeoutMs?: number;
  /** Sets up the fresh connection (pragmas, migrations); may throw SQLite's errors. */
  setup: (db: BetterSqlite3.Database) => void;
  /** Where the one line about a damaged registry goes; default stderr. */
  notice?: (line: string) => void;
}

/**
 * Opens `home`/registry.db and runs `setup` on it. A file another process is
 * migrating is waited for; a damaged one is moved aside and replaced (see the
 * module comment). Throws `E_REGISTRY` naming the file and the fix otherwise.
 *
 * @example
 * const { db, path } = openDatabase({ home, setup: (db) => migrate(db) });
 */
export function openDatabase(options: OpenDatabaseOptions): { db: BetterSqlite3.Database; path: string } {
  const path = join(options.home, REGISTRY_FILE);
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const busyTimeoutMs = options.busyTimeoutMs ?? OPEN_BUSY_TIMEOUT_MS;
  try {
    mkdirSync(options.home, { recursive: true, mode: 0o700 });
    if (existsSync(damageMarker(path))) recover(path, inode(path), notice, 'an earlier error');
    const deadline = Date.now() + OPEN_BUSY_TIMEOUT_MS;
    for (let moved = false; ; ) {
      const seen = inode(path);
      try {
        return { db: connect(path, busyTimeoutMs, options.setup), path };
      } catch (error) {
        if (isDamage(error) && !moved) {
          // Once: a fresh file that is damaged too is not the file's fault.
          moved = recover(path, seen, notice, (error as Error).message) !== 'healthy';
          if (moved) continue;
        }
        if (!isBusy(error) || Date.now() >= deadline) throw error;
        sleepSync(5 + Math.random() * 20);
      }
    }
  } catch (error) {
    if (error instanceof BerthError) throw error;
    throw openError(path, error);
  }
}

/** A new connection to `path`, set up; closed again when the set-up throws. */
function connect(
  path: string,
  busyTimeoutMs: number,
  setup: (db: BetterSqlite3.Database) => void,
): BetterSqlite3.Database {
  const { Database, addon } = loadSqlite();
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(path, {
      timeout: busyTimeoutMs,
      // better-sqlite3 takes the loaded addon object too (its issue #972); its types say string only.
      ...(addon ? { nativeBinding: addon as unknown as string } : {}),
    });
    setup(db);
    return db;
  } catch (error) {
    db?.close();
    throw error;
  }
}

/** The error for a registry file that cannot be opened for another reason than damage. */
function openError(path: string, error: unknown): BerthError {
  const detail = (error as Error)?.message ?? String(error);
  return new BerthError(
    'E_REGISTRY',
    `cannot open the registry ${path}: ${detail}. Check the folder's permissions or set BERTH_HOME to a writable folder.`,
    { cause: error },
  );
}

/**
 * Whether `error` says the file is damaged (not a permission or lock problem).
 *
 * @example
 * isDamage(Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' })) // true
 */
export function isDamage(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

/**
 * Records that a connection met damage in `path` after it was opened: the next
 * open of the registry checks the file (and moves it aside when damaged). Returns
 * the error to throw, which says so.
 */
export function damageFound(path: string, error: unknown): BerthError {
  try {
    writeFileSync(damageMarker(path), `${process.pid}\n`);
  } catch {
    // The folder is gone or read-only: the error below still says what happened.
  }
  return new BerthError(
    'E_REGISTRY',
    `the registry ${path} is damaged (${(error as Error).message}). The next berth command checks it and, if it is damaged, moves it aside and starts a fresh registry; run the command again.`,
    { cause: error },
  );
}

const damageMarker = (path: string) => `${path}.damaged`;

/** The inode of `path`, or `null` when there is no file. */
function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/**
 * Moves `path` (seen with inode `seen` when it failed) aside if it is still that
 * file and an integrity check finds it damaged. `replaced`: another process got
 * there first; `healthy`: the file passed the check and stays.
 */
function recover(
  path: string,
  seen: number | null,
  notice: (line: string) => void,
  reason: string,
): 'moved' | 'replaced' | 'healthy' {
  return underRecoveryLock(path, () => {
    const now = inode(path);
    if (now === null || now !== seen) return 'replaced';
    if (!isDamaged(path)) {
      rmSync(damageMarker(path), { force: true });
      return 'healthy';
    }
    const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    // The WAL and shared-memory files belong to the damaged file: they go with it.
    for (const suffix of ['-wal', '-shm', '']) {
      if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
    }
    rmSync(damageMarker(path), { force: true });
    notice(
      `berth: the registry ${path} was damaged (${reason}); it is now ${aside}, and berth started a fresh registry. Leases are learned again as processes ask for ports; \`berth who <port>\` shows who listens on a port.`,
    );
    return 'moved';
  });
}

/** Whether SQLite's integrity check of `path` fails (or the file cannot even be read as a database). */
function isDamaged(path: string): boolean {
  const { Database, addon } = loadSqlite();
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(path, {
      fileMustExist: true,
      timeout: OPEN_BUSY_TIMEOUT_MS,
      ...(addon ? { nativeBinding: addon as unknown as string } : {}),
    });
    return db.pragma('integrity_check', { simple: true }) !== 'ok';
  } catch (error) {
    if (isDamage(error)) return true;
    throw error;
  } finally {
    db?.close();
  }
}

/**
 * Runs `fn` holding `<path>.recover.lock` (created exclusively, holding the pid). A
 * lock whose process is gone is taken over; past {@link RECOVERY_LOCK_WAIT_MS}, `E_REGISTRY`.
 */
function underRecoveryLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.recover.lock`;
  const deadline = Date.now() + RECOVERY_LOCK_WAIT_MS;
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockHolderGone(lock)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new BerthError(
          'E_REGISTRY',
          `another process has been repairing the registry ${path} for ${RECOVERY_LOCK_WAIT_MS / 1000} s (${lock}). If no berth process runs, remove that file.`,
        );
      }
      sleepSync(10);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Whether a recovery lock is left over: its pid names no process (a crash mid-repair), or
 * it is older than a repair can take. A lock still being written is held.
 */
function lockHolderGone(lock: string): boolean {
  let pid: number;
  try {
    if (Date.now() - statSync(lock).mtimeMs > RECOVERY_LOCK_WAIT_MS) return true;
    pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether SQLite reports another connection's lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT';
}

/** Blocks the thread for `ms` (start-up and exit paths only). */
export const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
