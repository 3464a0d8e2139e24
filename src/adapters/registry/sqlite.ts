/**
 * The shared registry: one SQLite file per user, opened by every berth process.
 * Every read-then-write runs in one `BEGIN IMMEDIATE` transaction, so two
 * processes can never both see a port as free and both lease it; the UNIQUE
 * indexes are the last line of defence.
 */
import { close, fdatasync, open, statSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  NewLease,
  NewRegistryEvent,
  OwnerRow,
  Registry,
  RegistryEvent,
  RegistryTx,
  RemovalReason,
  Scope,
  SyncTransactionOptions,
  TransactionOptions,
} from '../../core/registry.js';
import type { Lease, LeaseOwner } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { damageFound, isBusy, isDamage, openDatabase, sleepSync } from './database.js';
import { type BatchBackend, GroupCommit, type JobOutcome } from './group-commit.js';
import { createLockQueue, type LockQueue } from './lock-queue.js';
import { migrate } from './migrations.js';
import { LOCK_QUEUE_DIR, lockQueueDir } from './queue-dir.js';
import { type EventRow, type LeaseRow, rowToEvent, rowToLease, validRows } from './rows.js';

/**
 * How long a waiting process lets the registry stand still (no other process
 * commits, the queue does not move) before `E_REGISTRY_LOCKED`. A wait behind
 * processes that are making progress never times out.
 */
export const LOCK_TIMEOUT_MS = 10_000;

/** SQLite page size for new registries, in bytes (see openRegistry). */
const PAGE_SIZE_BYTES = 1024;

/**
 * SQLite's page cache per connection, in KiB (negative `cache_size`). The
 * registry's hot pages (the port index, a few leaf pages) fit many times over;
 * SQLite's default of 2 MiB only grew the RSS that #8 measures against get-port.
 */
const CACHE_KIB = 256;

/** Newest events kept; older ones are trimmed (the dashboard needs recent history only). */
export const EVENTS_KEPT = 10_000;

/**
 * What the WAL file is cut back to when SQLite restarts it after a complete
 * checkpoint, in bytes (`journal_size_limit`): without it the file never
 * shrinks, and its size could not tell whether a checkpoint is due.
 */
const WAL_SIZE_LIMIT_BYTES = 1024 * 1024;

/**
 * WAL size past which this process checkpoints, in bytes: about SQLite's own
 * 1,000 pages. SQLite's auto-checkpoint ran inside whichever COMMIT crossed them,
 * under the write lock (~5 ms every ~170 allocations, #8); it is off, and the
 * checkpoint runs on its own turn of the event loop once the batch is done and
 * nothing waits. A WAL left to grow makes every read slower (SQLite searches
 * one more hash table of the WAL index per 4,096 frames).
 */
export const CHECKPOINT_WAL_BYTES = WAL_SIZE_LIMIT_BYTES + 64 * 1024;

/**
 * WAL size past which this process checkpoints at once, after the commit, in
 * bytes: the bound on the WAL when the checkpoint on an idle turn never gets
 * its turn (~10 ms of fsync and copying at this size).
 */
export const CHECKPOINT_FORCE_BYTES = 2 * CHECKPOINT_WAL_BYTES;

/** Batches between two looks at the WAL's size (a stat). */
const CHECKPOINT_CHECK_EVERY = 8;

/**
 * fdatasync()s `path` on libuv's thread pool, then calls `done` (also when the
 * file is gone or cannot be synced: the caller's work does not depend on it).
 */
function syncFile(path: string, done: () => void): void {
  open(path, 'r+', (openError, fd) => {
    if (openError) {
      done();
      return;
    }
    fdatasync(fd, () => close(fd, () => done()));
  });
}

/** Options for {@link openRegistry}. */
export interface OpenRegistryOptions {
  /** Folder holding registry.db (created with mode 0700 when missing). */
  home: string;
  /** Clock, for event timestamps. */
  now?: () => number;
  /** How long the registry may stand still while this process waits for the lock, in milliseconds. */
  lockTimeoutMs?: number;
  /**
   * Runs at the start of every batch of transactions, inside it (the composition
   * reclaims leases of dead owners here). Not run by `transactionSync`.
   */
  beforeBatch?: (tx: RegistryTx) => void;
  /** Where the one line about a damaged registry file moved aside goes; default stderr. */
  notice?: (line: string) => void;
  /** This process and a liveness check, for the lock queue's tickets. */
  processes?: {
    self(): { pid: number; startTime: string | null };
    isAlive(owner: { pid: number; startTime: string | null }): boolean;
  };
}

export { loadSqlite, REGISTRY_FILE } from './database.js';
export { LOCK_QUEUE_DIR, lockQueueDir };

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
  const { db, path } = openDatabase({
    home: options.home,
    ...(options.notice ? { notice: options.notice } : {}),
    setup: (db) => {
      // Small pages: a lease touches a few b-tree leaves and each commit appends those pages
      // to the WAL, so 1 KiB pages make a commit ~35% cheaper than 4 KiB ones (measured
      // here). Takes effect only when the file is created.
      db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
      // Switching to WAL takes an exclusive lock that the busy handler does not wait for:
      // when many processes create the file at once, some see "database is locked".
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      migrate(db);
    },
  });
  // From here on a busy lock is waited for in the lock queue, never by blocking the event loop.
  // synchronous NORMAL is enough in WAL mode: a commit survives any crash of the process;
  // only a power loss can roll back the newest transactions, and then every process that
  // held those leases is gone too, so nothing is lost that still matters. The file itself
  // is never corrupted either way.
  db.exec(
    `PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 0; PRAGMA cache_size = -${CACHE_KIB}; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES};`,
  );
  return new SqliteRegistry(db, path, options);
}

/** An ad-hoc lease with nothing but a port, a label and an owner (getPort's): the `insertAdhoc` statement writes it. */
function isBareAdhoc(lease: NewLease): boolean {
  return (
    lease.kind === 'adhoc' &&
    lease.project === '' &&
    lease.dir === '' &&
    lease.environment === '' &&
    lease.inheritsFrom === null &&
    lease.expiresAt === null &&
    lease.scheme === null
  );
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

type AnyStatement = BetterSqlite3.Statement<unknown[], unknown>;

/** Statements prepared on first use, then kept. */
function lazyStatements<T extends Record<string, () => AnyStatement>>(
  defs: T,
): { readonly [K in keyof T]: AnyStatement } {
  const cache = new Map<keyof T, AnyStatement>();
  const out = {} as { [K in keyof T]: AnyStatement };
  for (const key of Object.keys(defs) as (keyof T)[]) {
    Object.defineProperty(out, key, {
      get: () => {
        let statement = cache.get(key);
        if (!statement) {
          statement = defs[key]!();
          cache.set(key, statement);
        }
        return statement;
      },
    });
  }
  return out;
}

/** Anyone, as far as a queue without a process table can tell. */
const ANY_PROCESS = {
  self: () => ({ pid: process.pid, startTime: null }),
  isAlive: () => true,
};

class SqliteRegistry implements Registry {
  readonly path: string;
  private readonly db: BetterSqlite3.Database;
  private readonly now: () => number;
  private readonly lockTimeoutMs: number;
  private readonly beforeBatch: ((tx: RegistryTx) => void) | undefined;
  private readonly tx: RegistryTx;
  private readonly stmt;
  private readonly queue: LockQueue;
  private readonly batches: GroupCommit<RegistryTx>;
  private eventsSinceTrim = 0;
  private batchesSinceCheck = 0;
  private batch = 0;
  private warmed = false;
  private checkpointDue = false;

  constructor(db: BetterSqlite3.Database, path: string, options: OpenRegistryOptions) {
    this.db = db;
    this.path = path;
    this.now = options.now ?? Date.now;
    this.lockTimeoutMs = options.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
    this.beforeBatch = options.beforeBatch;
    this.stmt = lazyStatements({
      // `kind = 'service'` lets SQLite use the partial index leases_scope_service (ad-hoc
      // leases have no scope); without it this was a full scan, 20x slower at 10,000 leases.
      // Prepared once, on first use: parsing them on every transaction showed in the getPort
      // profile, and preparing all of them at open cost ~5 ms of every process's first call.
      begin: () => db.prepare('BEGIN IMMEDIATE'),
      commit: () => db.prepare('COMMIT'),
      savepoint: () => db.prepare('SAVEPOINT request'),
      release: () => db.prepare('RELEASE request'),
      rollbackTo: () => db.prepare('ROLLBACK TO request'),
      dataVersion: () => db.prepare('PRAGMA data_version').pluck(),
      checkpoint: () => db.prepare('PRAGMA wal_checkpoint(PASSIVE)'),
      scope: () =>
        db.prepare(
          `SELECT ${LEASE_COLUMNS} FROM leases WHERE dir = ? AND environment = ? AND kind = 'service' ORDER BY id`,
        ),
      // Each half is an index range scan (roots: leases_port; inheriting rows: leases_inheritors).
      range: () =>
        db.prepare(
          `SELECT ${LEASE_COLUMNS} FROM leases WHERE port BETWEEN ? AND ? AND inherits_from IS NULL
           UNION ALL SELECT ${LEASE_COLUMNS} FROM leases WHERE port BETWEEN ? AND ? AND inherits_from IS NOT NULL
           ORDER BY port`,
        ),
      ports: () =>
        db
          .prepare(
            'SELECT port FROM leases WHERE port BETWEEN ? AND ? AND inherits_from IS NULL ORDER BY port',
          )
          .pluck(),
      all: () =>
        db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases ORDER BY project, dir, environment, port, service`),
      byPid: () => db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases WHERE pid = ? ORDER BY id`),
      byOwner: () =>
        db.prepare(
          `SELECT ${LEASE_COLUMNS} FROM leases WHERE pid = ? AND COALESCE(pid_start, '') = ? ORDER BY id`,
        ),
      byId: () => db.prepare(`SELECT ${LEASE_COLUMNS} FROM leases WHERE id = ?`),
      owners: () => db.prepare('SELECT pid, pid_start, since FROM owners'),
      history: () => db.prepare('SELECT service, port FROM history WHERE dir = ? AND environment = ?'),
      events: () =>
        db.prepare(
          'SELECT id, at, type, project, dir, environment, service, port, from_port, detail FROM events WHERE id > ? ORDER BY id LIMIT ?',
        ),
      lastEvent: () => db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events'),
      insert: () =>
        db.prepare(
          // Positional parameters: better-sqlite3 makes a string per named parameter per call.
          `INSERT INTO leases (port, kind, project, dir, environment, service, inherits_from, pid, pid_start, created_at, expires_at, scheme)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
      // getPort's leases: the columns they leave empty are in the statement, not bound on every call (#22).
      insertAdhoc: () =>
        db.prepare(
          `INSERT INTO leases (port, kind, project, dir, environment, service, inherits_from, pid, pid_start, created_at, expires_at, scheme)
         VALUES (?, 'adhoc', '', '', '', ?, NULL, ?, ?, ?, NULL, NULL)`,
        ),
      setOwner: () => db.prepare('UPDATE leases SET pid = ?, pid_start = ?, expires_at = ? WHERE id = ?'),
      remove: () => db.prepare('DELETE FROM leases WHERE id = ?'),
      removeInheritors: () =>
        db.prepare(
          'DELETE FROM leases WHERE dir = ? AND environment = ? AND inherits_from IS NOT NULL AND port = ? RETURNING service',
        ),
      remember: () =>
        db.prepare(
          `INSERT INTO history (dir, environment, service, project, port, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (dir, environment, service) DO UPDATE SET port = excluded.port, project = excluded.project, updated_at = excluded.updated_at`,
        ),
      forget: () => db.prepare('DELETE FROM history WHERE dir = ? AND environment = ?'),
      expired: () =>
        db.prepare(
          `SELECT ${LEASE_COLUMNS} FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY id`,
        ),
      event: () =>
        db.prepare(
          `INSERT INTO events (at, type, project, dir, environment, service, port, from_port, detail)
         VALUES (@at, @type, @project, @dir, @environment, @service, @port, @fromPort, @detail)`,
        ),
      trim: () => db.prepare('DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?'),
    });
    this.tx = this.makeTx();
    const processes = options.processes ?? ANY_PROCESS;
    this.queue = createLockQueue({
      dir: lockQueueDir(path),
      tryLock: () => this.tryBegin(),
      progress: () => this.stmt.dataVersion.get() as number,
      timeoutMs: this.lockTimeoutMs,
      lockedError: () => this.lockedError(),
      self: processes.self(),
      isAlive: (owner) => processes.isAlive(owner),
    });
    const backend: BatchBackend<RegistryTx> = {
      prepare: () => this.warm(),
      acquire: (withdraw) => this.queue.acquire(withdraw),
      tryAcquire: () => this.queue.tryAcquire(),
      run: (fns, more, hook) => this.runBatch(fns, more, hook),
    };
    this.batches = new GroupCommit(backend);
  }

  scopeLeases(scope: Scope): Lease[] {
    return validRows(this.stmt.scope.all(scope.dir, scope.environment) as LeaseRow[], rowToLease);
  }

  leasedPorts(min: number, max: number): number[] {
    return (this.stmt.ports.all(min, max) as unknown[]).filter((p): p is number => Number.isInteger(p));
  }

  leasesInRange(min: number, max: number): Lease[] {
    return validRows(this.stmt.range.all(min, max, min, max) as LeaseRow[], rowToLease);
  }

  lease(id: number): Lease | null {
    const row = this.stmt.byId.get(id) as LeaseRow | undefined;
    return row ? rowToLease(row) : null;
  }

  owners(): OwnerRow[] {
    const rows = this.stmt.owners.all() as { pid: unknown; pid_start: unknown; since: unknown }[];
    return rows.flatMap((row) =>
      Number.isInteger(row.pid) &&
      (row.pid as number) > 0 &&
      typeof row.pid_start === 'string' &&
      Number.isInteger(row.since)
        ? [
            {
              pid: row.pid as number,
              startTime: row.pid_start === '' ? null : row.pid_start,
              since: row.since as number,
            },
          ]
        : [],
    );
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

  transaction<T>(fn: (tx: RegistryTx) => T, options: TransactionOptions<NoInfer<T>> = {}): Promise<T> {
    return this.batches.submit(fn, options.reclaim ?? true, options.instead);
  }

  transactionNow<T>(
    fn: (tx: RegistryTx) => T,
    options: Pick<TransactionOptions, 'reclaim'> = {},
  ): { value: T } | undefined {
    return this.batches.runNow(fn, options.reclaim ?? true);
  }

  transactionSync<T>(fn: (tx: RegistryTx) => T, options: SyncTransactionOptions = {}): T {
    const deadline = this.now() + (options.timeoutMs ?? this.lockTimeoutMs);
    while (!this.tryBegin()) {
      // Exit handlers only: no time to look for the holder.
      if (this.now() >= deadline) throw this.lockedErrorFor(null);
      sleepSync(1);
    }
    this.batch++;
    try {
      const value = fn(this.tx);
      this.stmt.commit.run();
      return value;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw this.named(error);
    } finally {
      this.queue.ring();
    }
  }

  close(): void {
    this.queue.dropTickets();
    if (this.db.open) this.db.close();
  }

  /**
   * Prepares the statements every batch uses, before the lock is taken: the first
   * batch of a process otherwise parsed the schema and compiled them while every
   * other process waited for its turn.
   */
  private warm(): void {
    if (this.warmed) return;
    this.warmed = true;
    const { stmt } = this;
    for (const s of [stmt.begin, stmt.commit, stmt.savepoint, stmt.release, stmt.rollbackTo, stmt.owners])
      void s;
    for (const s of [stmt.expired, stmt.ports, stmt.insert, stmt.insertAdhoc, stmt.byId, stmt.remove]) void s;
  }

  /** `error`, or for damage found in the file, the error that says so (and has the next open check it). */
  private named(error: unknown): unknown {
    return isDamage(error) ? damageFound(this.path, error) : error;
  }

  /** Takes the write lock if it is free; false when another connection holds it. */
  private tryBegin(): boolean {
    try {
      this.stmt.begin.run();
      return true;
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    }
  }

  /** One batch, the lock held and the transaction open: the batch hook, each request in a savepoint, one commit. */
  private runBatch(
    fns: readonly ((tx: RegistryTx) => unknown)[],
    more: () => boolean,
    hook: boolean,
  ): JobOutcome[] {
    const outcomes: JobOutcome[] = [];
    this.batch++;
    try {
      if (hook) this.beforeBatch?.(this.tx);
      if (fns.length === 1) {
        // Alone in its batch: the transaction itself isolates it, no savepoint needed.
        outcomes.push(this.alone(fns[0]!));
        if (!outcomes[0]!.ok) return outcomes;
      } else {
        for (const fn of fns) {
          if (outcomes.length > 0 && !more()) break;
          outcomes.push(this.isolated(fn));
        }
      }
      this.stmt.commit.run();
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw this.named(error);
    }
    this.afterCommit();
    return outcomes;
  }

  /** Runs the only request of a batch; its failure rolls the whole transaction back. */
  private alone(fn: (tx: RegistryTx) => unknown): JobOutcome {
    try {
      return { ok: true, value: fn(this.tx) };
    } catch (error) {
      this.db.exec('ROLLBACK');
      return { ok: false, error: this.named(error) };
    }
  }

  /** Runs one request in a savepoint: its failure rolls back its own writes only. */
  private isolated(fn: (tx: RegistryTx) => unknown): JobOutcome {
    this.stmt.savepoint.run();
    try {
      const value = fn(this.tx);
      this.stmt.release.run();
      return { ok: true, value };
    } catch (error) {
      this.stmt.rollbackTo.run();
      this.stmt.release.run();
      return { ok: false, error: this.named(error) };
    }
  }

  /**
   * Checkpoints the WAL off the allocation's path. The checkpoint's cost is
   * almost all the fsync of the WAL it starts with (~4.6 of ~5.3 ms per MiB
   * here, bench/ANALYSIS.md): that fsync runs first on libuv's thread pool, so
   * the checkpoint left on the event loop (its own turn, once nothing waits)
   * finds the WAL already on disk and costs ~0.7 ms.
   */
  private afterCommit(): void {
    if (++this.batchesSinceCheck < CHECKPOINT_CHECK_EVERY) return;
    this.batchesSinceCheck = 0;
    const bytes = this.walBytes();
    if (bytes >= CHECKPOINT_FORCE_BYTES) {
      // A caller that never yields to the event loop (a tight loop of awaited calls) never
      // lets the idle-turn checkpoint run: checkpoint now, fsync included, the lock released.
      this.checkpoint();
      return;
    }
    if (this.checkpointDue || bytes < CHECKPOINT_WAL_BYTES) return;
    this.checkpointDue = true;
    const run = () => {
      // Never between a batch and the next one that already waits: those go first.
      if (this.batches.waiting > 0) {
        setImmediate(run).unref();
        return;
      }
      this.checkpointDue = false;
      this.checkpoint();
    };
    // Whatever the pre-sync meets (a WAL just deleted, a system without fdatasync), the checkpoint runs.
    syncFile(`${this.path}-wal`, () => setImmediate(run).unref());
  }

  private checkpoint(): void {
    if (!this.db.open || this.db.inTransaction) return;
    try {
      // PASSIVE: copies what no reader still needs and never waits for anyone.
      const done = this.stmt.checkpoint.get() as { busy: number; log: number; checkpointed: number };
      if (done.busy === 0 && done.log > 0 && done.checkpointed === done.log) this.restartWal();
    } catch {
      // Another process is checkpointing; a later batch tries again.
    }
  }

  /**
   * Starts the WAL over now, after a checkpoint that copied every frame, with a write of
   * one page that changes nothing (the header's application id, rewritten as it is).
   * SQLite starts the WAL over at the first write after such a checkpoint, and with
   * synchronous=NORMAL it fsyncs the new WAL header then: 0.3-1.2 ms of whichever call
   * made that write, a third of the 30 slowest preferred calls in the latency rotation
   * (#22). Here it is the checkpoint's cost, in the checkpoint's turn. Only if the lock is
   * free at once and nobody queues; otherwise the next write starts it over, as before.
   */
  private restartWal(): void {
    const leave = this.queue.tryAcquire();
    if (!leave) return;
    try {
      const id = Number(this.db.pragma('application_id', { simple: true }));
      this.db.pragma(`application_id = ${id}`);
      this.stmt.commit.run();
    } catch {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } finally {
      leave();
    }
  }

  private walBytes(): number {
    try {
      return statSync(`${this.path}-wal`).size;
    } catch {
      return 0;
    }
  }

  /** `E_REGISTRY_LOCKED`, naming the holder (read from /proc/locks only now: rare, so loaded lazily). */
  private async lockedError(): Promise<BerthError> {
    const { describeWriteLockHolder } = await import('./lock-holder.js');
    return this.lockedErrorFor(describeWriteLockHolder(this.path));
  }

  private lockedErrorFor(holder: string | null): BerthError {
    const who = holder ? `${holder} holds it` : 'its holder could not be told on this system';
    return new BerthError(
      'E_REGISTRY_LOCKED',
      `the registry ${this.path} stayed locked for ${this.lockTimeoutMs} ms with no progress: ${who}. Stop that process if it is stuck${holder ? '' : ` (find it with \`lsof ${this.path}\`)`}, then try again.`,
      { data: { holder } },
    );
  }

  private makeTx(): RegistryTx {
    const { stmt } = this;
    const self = this;
    return {
      get batch() {
        return self.batch;
      },
      scopeLeases: (scope) => this.scopeLeases(scope),
      leasesInRange: (min, max) => this.leasesInRange(min, max),
      leasedPorts: (min, max) => this.leasedPorts(min, max),
      lease: (id) => this.lease(id),
      allLeases: () => this.allLeases(),
      leasesOwnedBy: (pid) => this.leasesOwnedBy(pid),
      history: (scope) => this.history(scope),
      eventsSince: (afterId, limit) => this.eventsSince(afterId, limit),
      lastEventId: () => this.lastEventId(),
      insert: (lease: NewLease): Lease => {
        try {
          const info = isBareAdhoc(lease)
            ? stmt.insertAdhoc.run(
                lease.port,
                lease.service,
                lease.owner?.pid ?? null,
                lease.owner?.startTime ?? null,
                lease.createdAt,
              )
            : stmt.insert.run(
                lease.port,
                lease.kind,
                lease.project,
                lease.dir,
                lease.environment,
                lease.service,
                lease.inheritsFrom,
                lease.owner?.pid ?? null,
                lease.owner?.startTime ?? null,
                lease.createdAt,
                lease.expiresAt,
                lease.scheme,
              );
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
      remove: (id: number, _reason: RemovalReason) => this.removeLease(this.lease(id)),
      owners: () => this.owners(),
      removeOwnedBy: (owner: LeaseOwner, _reason: RemovalReason) => {
        const leases = validRows(
          stmt.byOwner.all(owner.pid, owner.startTime ?? '') as LeaseRow[],
          rowToLease,
        );
        for (const lease of leases) this.removeLease(lease);
        return leases;
      },
      forgetHistory: (scope: Scope) => {
        stmt.forget.run(scope.dir, scope.environment);
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

  /** Deletes a lease (and, for a root, the rows inheriting its port), remembering the port. */
  private removeLease(lease: Lease | null): void {
    if (!lease) return;
    this.stmt.remove.run(lease.id);
    if (lease.kind !== 'service') return;
    this.remember(lease, lease.port);
    if (lease.inheritsFrom === null) {
      this.stmt.removeInheritors.run(lease.dir, lease.environment, lease.port);
    }
  }

  private remember(lease: Pick<Lease, 'dir' | 'environment' | 'service' | 'project'>, port: number) {
    this.stmt.remember.run(lease.dir, lease.environment, lease.service, lease.project, port, this.now());
  }
}
