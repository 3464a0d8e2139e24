/**
 * The shared registry: one SQLite file per user, opened by every berth process.
 * Every read-then-write runs in one `BEGIN IMMEDIATE` transaction, so two
 * processes can never both see a port as free and both lease it; the UNIQUE
 * indexes are the last line of defence.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  NewLease,
  NewRegistryEvent,
  Registry,
  RegistryEvent,
  RegistryTx,
  RemovalReason,
  Scope,
} from '../../core/registry.js';
import type { Lease, LeaseOwner } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { migrate } from './migrations.js';
import { type EventRow, type LeaseRow, rowToEvent, rowToLease, validRows } from './rows.js';

/** How long a transaction waits for other processes to release the write lock before `E_REGISTRY_LOCKED`. */
export const LOCK_TIMEOUT_MS = 10_000;

/** SQLite page size for new registries, in bytes (see openRegistry). */
const PAGE_SIZE_BYTES = 1024;

/** Busy timeout while opening and migrating: a one-off, synchronous step at start-up. */
const OPEN_BUSY_TIMEOUT_MS = 10_000;

/** Newest events kept; older ones are trimmed (the dashboard needs recent history only). */
export const EVENTS_KEPT = 10_000;

/** Back-off between lock attempts: starts at 1 ms, doubles, capped, with jitter. */
const BACKOFF_MAX_MS = 25;

/** File name of the registry inside BERTH_HOME. */
export const REGISTRY_FILE = 'registry.db';

// better-sqlite3 is CommonJS; require() loads it faster than the ESM loader does.
const require = createRequire(import.meta.url);

/** Options for {@link openRegistry}. */
export interface OpenRegistryOptions {
  /** Folder holding registry.db (created with mode 0700 when missing). */
  home: string;
  /** Clock, for event timestamps. */
  now?: () => number;
  /** How long to wait for the write lock, in milliseconds. */
  lockTimeoutMs?: number;
}

const LEASE_COLUMNS =
  'id, port, kind, project, dir, environment, service, inherits_from, pid, pid_start, created_at, expires_at, scheme';

/**
 * Opens (creating and migrating as needed) the registry in `home`.
 *
 * @example
 * const registry = openRegistry({ home: '/tmp/berth' });
 * const leases = registry.allLeases();
 */
export function openRegistry(options: OpenRegistryOptions): Registry {
  mkdirSync(options.home, { recursive: true, mode: 0o700 });
  const path = join(options.home, REGISTRY_FILE);
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  let db: BetterSqlite3.Database | undefined;
  const deadline = Date.now() + OPEN_BUSY_TIMEOUT_MS;
  try {
    for (;;) {
      try {
        db = new Database(path, { timeout: OPEN_BUSY_TIMEOUT_MS, ...nativeBinding() });
        // Small pages: a lease touches a few b-tree leaves and each commit appends those pages
        // to the WAL, so 1 KiB pages make a commit ~35% cheaper than 4 KiB ones (measured
        // here). Takes effect only when the file is created.
        db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
        // Switching to WAL takes an exclusive lock that the busy handler does not wait for:
        // when many processes create the file at once, some see "database is locked".
        if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
        // NORMAL is enough in WAL mode: a commit survives any crash of the process; only a
        // power loss can roll back the newest transactions, and then every process that
        // held those leases is gone too, so nothing is lost that still matters. The file
        // itself is never corrupted either way.
        db.pragma('synchronous = NORMAL');
        migrate(db);
        break;
      } catch (error) {
        db?.close();
        if (!isBusy(error) || Date.now() >= deadline) throw error;
        sleepSync(5 + Math.random() * 20);
      }
    }
  } catch (error) {
    if (error instanceof BerthError) throw error;
    throw new BerthError(
      'E_REGISTRY',
      `cannot open the registry ${path}: ${(error as Error).message}. Check the folder's permissions or set BERTH_HOME to a writable folder.`,
      { cause: error },
    );
  }
  // From here on a busy lock is retried on timers, never by blocking the event loop.
  db.pragma('busy_timeout = 0');
  return new SqliteRegistry(db!, path, options.now ?? Date.now, options.lockTimeoutMs ?? LOCK_TIMEOUT_MS);
}

/**
 * The compiled addon's path, when it sits where `npm install` builds it. Passing it
 * skips the `bindings` package's search of a dozen candidate paths (about 10 ms of
 * every CLI start measured here); elsewhere better-sqlite3 searches as usual.
 */
function nativeBinding(): { nativeBinding?: string } {
  try {
    const addon = join(
      dirname(require.resolve('better-sqlite3/package.json')),
      'build/Release/better_sqlite3.node',
    );
    return existsSync(addon) ? { nativeBinding: addon } : {};
  } catch {
    return {};
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT';
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

class SqliteRegistry implements Registry {
  readonly path: string;
  private readonly db: BetterSqlite3.Database;
  private readonly now: () => number;
  private readonly lockTimeoutMs: number;
  private readonly tx: RegistryTx;
  private readonly stmt;
  private eventsSinceTrim = 0;

  constructor(db: BetterSqlite3.Database, path: string, now: () => number, lockTimeoutMs: number) {
    this.db = db;
    this.path = path;
    this.now = now;
    this.lockTimeoutMs = lockTimeoutMs;
    this.stmt = {
      // `kind = 'service'` lets SQLite use the partial index leases_scope_service (ad-hoc
      // leases have no scope); without it this was a full scan, 20x slower at 10,000 leases.
      // Prepared once: parsing them on every transaction showed in the getPort profile.
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      scope: db.prepare(
        `SELECT ${LEASE_COLUMNS} FROM leases WHERE dir = ? AND environment = ? AND kind = 'service' ORDER BY id`,
      ),
      range: db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases WHERE port BETWEEN ? AND ? ORDER BY port`),
      ports: db
        .prepare('SELECT port FROM leases WHERE port BETWEEN ? AND ? AND inherits_from IS NULL ORDER BY port')
        .pluck(),
      all: db.prepare(
        `SELECT ${LEASE_COLUMNS} FROM leases ORDER BY project, dir, environment, port, service`,
      ),
      byPid: db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases WHERE pid = ? ORDER BY id`),
      byId: db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases WHERE id = ?`),
      history: db.prepare('SELECT service, port FROM history WHERE dir = ? AND environment = ?'),
      events: db.prepare(
        'SELECT id, at, type, project, dir, environment, service, port, from_port, detail FROM events WHERE id > ? ORDER BY id LIMIT ?',
      ),
      lastEvent: db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events'),
      insert: db.prepare(
        `INSERT INTO leases (port, kind, project, dir, environment, service, inherits_from, pid, pid_start, created_at, expires_at, scheme)
         VALUES (@port, @kind, @project, @dir, @environment, @service, @inheritsFrom, @pid, @pidStart, @createdAt, @expiresAt, @scheme)`,
      ),
      setOwner: db.prepare('UPDATE leases SET pid = ?, pid_start = ?, expires_at = ? WHERE id = ?'),
      remove: db.prepare('DELETE FROM leases WHERE id = ?'),
      removeInheritors: db.prepare(
        'DELETE FROM leases WHERE dir = ? AND environment = ? AND inherits_from IS NOT NULL AND port = ? RETURNING service',
      ),
      remember: db.prepare(
        `INSERT INTO history (dir, environment, service, project, port, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (dir, environment, service) DO UPDATE SET port = excluded.port, project = excluded.project, updated_at = excluded.updated_at`,
      ),
      expired: db.prepare(
        `SELECT ${LEASE_COLUMNS} FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY id`,
      ),
      event: db.prepare(
        `INSERT INTO events (at, type, project, dir, environment, service, port, from_port, detail)
         VALUES (@at, @type, @project, @dir, @environment, @service, @port, @fromPort, @detail)`,
      ),
      trim: db.prepare('DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?'),
    };
    this.tx = this.makeTx();
  }

  scopeLeases(scope: Scope): Lease[] {
    return validRows(this.stmt.scope.all(scope.dir, scope.environment) as LeaseRow[], rowToLease);
  }

  leasedPorts(min: number, max: number): number[] {
    return (this.stmt.ports.all(min, max) as unknown[]).filter((p): p is number => Number.isInteger(p));
  }

  leasesInRange(min: number, max: number): Lease[] {
    return validRows(this.stmt.range.all(min, max) as LeaseRow[], rowToLease);
  }

  leasesOwnedBy(pid: number): Lease[] {
    return validRows(this.stmt.byPid.all(pid) as LeaseRow[], rowToLease);
  }

  allLeases(): Lease[] {
    return validRows(this.stmt.all.all() as LeaseRow[], rowToLease);
  }

  history(scope: Scope): Map<string, number> {
    const rows = this.stmt.history.all(scope.dir, scope.environment) as { service: unknown; port: unknown }[];
    const out = new Map<string, number>();
    for (const r of rows) {
      if (typeof r.service === 'string' && Number.isInteger(r.port)) out.set(r.service, r.port as number);
    }
    return out;
  }

  eventsSince(afterId: number, limit: number): RegistryEvent[] {
    return validRows(this.stmt.events.all(afterId, limit) as EventRow[], rowToEvent);
  }

  lastEventId(): number {
    return (this.stmt.lastEvent.get() as { id: number }).id;
  }

  async transaction<T>(fn: (tx: RegistryTx) => T): Promise<T> {
    const deadline = this.now() + this.lockTimeoutMs;
    let backoff = 1;
    for (;;) {
      const outcome = this.attempt(fn);
      if (outcome.done) return outcome.value;
      if (this.now() >= deadline) throw this.lockedError();
      await sleep(backoff * (0.5 + Math.random()));
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
  }

  transactionSync<T>(fn: (tx: RegistryTx) => T): T {
    const deadline = this.now() + this.lockTimeoutMs;
    for (;;) {
      const outcome = this.attempt(fn);
      if (outcome.done) return outcome.value;
      if (this.now() >= deadline) throw this.lockedError();
      sleepSync(2);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private attempt<T>(fn: (tx: RegistryTx) => T): { done: true; value: T } | { done: false } {
    try {
      this.stmt.begin.run();
    } catch (error) {
      if (isBusy(error)) return { done: false };
      throw error;
    }
    try {
      const value = fn(this.tx);
      this.stmt.commit.run();
      return { done: true, value };
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private lockedError(): BerthError {
    return new BerthError(
      'E_REGISTRY_LOCKED',
      `the registry ${this.path} stayed locked for ${this.lockTimeoutMs} ms. Another berth process may be stuck; try again, or find it with \`lsof ${this.path}\`.`,
    );
  }

  private makeTx(): RegistryTx {
    const { stmt } = this;
    return {
      scopeLeases: (scope) => this.scopeLeases(scope),
      leasesInRange: (min, max) => this.leasesInRange(min, max),
      leasedPorts: (min, max) => this.leasedPorts(min, max),
      allLeases: () => this.allLeases(),
      leasesOwnedBy: (pid) => this.leasesOwnedBy(pid),
      history: (scope) => this.history(scope),
      eventsSince: (afterId, limit) => this.eventsSince(afterId, limit),
      lastEventId: () => this.lastEventId(),
      insert: (lease: NewLease): Lease => {
        try {
          const info = stmt.insert.run({
            ...lease,
            pid: lease.owner?.pid ?? null,
            pidStart: lease.owner?.startTime ?? null,
          });
          if (lease.kind === 'service') this.remember(lease, lease.port);
          return { ...lease, id: Number(info.lastInsertRowid) };
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          throw new BerthError(
            'E_PORT_HELD',
            `port ${lease.port} or service ${lease.service} is already leased. Run \`berth ls --all-projects\` to see who holds it.`,
            { data: { port: lease.port, service: lease.service }, cause: error },
          );
        }
      },
      setOwner: (id: number, owner: LeaseOwner | null, expiresAt: number | null) => {
        stmt.setOwner.run(owner?.pid ?? null, owner?.startTime ?? null, expiresAt, id);
      },
      remove: (id: number, _reason: RemovalReason) => {
        const lease = this.leaseById(id);
        if (!lease) return;
        stmt.remove.run(id);
        if (lease.kind !== 'service') return;
        this.remember(lease, lease.port);
        if (lease.inheritsFrom === null) {
          stmt.removeInheritors.run(lease.dir, lease.environment, lease.port);
        }
      },
      expired: (now) => validRows(stmt.expired.all(now) as LeaseRow[], rowToLease),
      recordEvent: (event: NewRegistryEvent) => {
        stmt.event.run(event);
        if (++this.eventsSinceTrim >= 100) {
          this.eventsSinceTrim = 0;
          stmt.trim.run(EVENTS_KEPT);
        }
      },
    };
  }

  private leaseById(id: number): Lease | null {
    const row = this.stmt.byId.get(id) as LeaseRow | undefined;
    return row ? rowToLease(row) : null;
  }

  private remember(lease: Pick<Lease, 'dir' | 'environment' | 'service' | 'project'>, port: number) {
    this.stmt.remember.run(lease.dir, lease.environment, lease.service, lease.project, port, this.now());
  }
}
