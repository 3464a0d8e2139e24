/**
 * Versioned schema of the registry. `PRAGMA user_version` holds the version;
 * each step runs in the same `BEGIN IMMEDIATE` transaction that bumps it, so a
 * failed step leaves the file exactly at the previous version (the seed's
 * "Migration 001 failed" can never leave a half-migrated file).
 */
import type Database from 'better-sqlite3';
import { BerthError } from '../../errors.js';

/** One schema step: `up` runs inside the migrating transaction. */
export interface Migration {
  version: number;
  description: string;
  up: (db: Database.Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'leases and history',
    up: (db) =>
      db.exec(`
        CREATE TABLE leases (
          id INTEGER PRIMARY KEY,
          port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
          kind TEXT NOT NULL CHECK (kind IN ('service', 'adhoc')),
          project TEXT NOT NULL,
          dir TEXT NOT NULL,
          environment TEXT NOT NULL,
          service TEXT NOT NULL,
          inherits_from TEXT,
          pid INTEGER,
          pid_start TEXT,
          created_at INTEGER NOT NULL,
          expires_at INTEGER
        );
        -- The last line of defence: two leases never own one port, a service never holds two.
        -- Inheriting rows (websocket sharing server's port) do not own their port.
        CREATE UNIQUE INDEX leases_port ON leases (port) WHERE inherits_from IS NULL;
        CREATE UNIQUE INDEX leases_scope_service ON leases (dir, environment, service) WHERE kind = 'service';
        CREATE INDEX leases_expiry ON leases (expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX leases_pid ON leases (pid) WHERE pid IS NOT NULL;
        CREATE TABLE history (
          dir TEXT NOT NULL,
          environment TEXT NOT NULL,
          service TEXT NOT NULL,
          project TEXT NOT NULL,
          port INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (dir, environment, service)
        ) WITHOUT ROWID;
      `),
  },
  {
    version: 2,
    description: 'event log for the daemon and dashboard',
    up: (db) =>
      db.exec(`
        CREATE TABLE events (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          type TEXT NOT NULL,
          project TEXT NOT NULL,
          dir TEXT NOT NULL,
          environment TEXT NOT NULL,
          service TEXT NOT NULL,
          port INTEGER NOT NULL,
          from_port INTEGER,
          detail TEXT NOT NULL DEFAULT ''
        );
      `),
  },
  {
    version: 3,
    description: 'URL scheme per lease, so the daemon can answer for projects whose config it has not read',
    up: (db) => db.exec('ALTER TABLE leases ADD COLUMN scheme TEXT'),
  },
  {
    version: 4,
    description: 'a full index on port for range lookups',
    // leases_port is partial (WHERE inherits_from IS NULL), so SQLite cannot use it for
    // `port BETWEEN ? AND ?`: every allocation scanned the table (7x slower at 10,000 leases).
    up: (db) => db.exec('CREATE INDEX leases_by_port ON leases (port)'),
  },
  {
    version: 5,
    description: 'drop the owner index: every lease write paid for it, only exit handlers read it',
    // Measured: one index fewer makes each getPort's commit ~5% cheaper; the lookup by pid
    // runs once, when a process exits, and scanning even 10,000 rows then takes milliseconds.
    up: (db) => db.exec('DROP INDEX leases_pid'),
  },
  {
    version: 6,
    description: 'the owners of leases, kept by triggers, so a batch can check every owner for liveness',
    // Every allocating batch reclaims the leases of dead owners (issue #8: a burst of killed
    // test workers leaves nothing behind after the next allocation). Checking each distinct
    // owner costs at least a kill(pid, 0); this table lists them without scanning the leases,
    // and the triggers keep it right whoever writes the leases. `pid_start` is '' when unknown;
    // `since` is when the owner's first lease was made (a young owner is trusted on its pid).
    up: (db) =>
      db.exec(`
        CREATE TABLE owners (
          pid INTEGER NOT NULL,
          pid_start TEXT NOT NULL,
          leases INTEGER NOT NULL,
          since INTEGER NOT NULL,
          PRIMARY KEY (pid, pid_start)
        ) WITHOUT ROWID;
        INSERT INTO owners (pid, pid_start, leases, since)
          SELECT pid, COALESCE(pid_start, ''), COUNT(*), MIN(created_at) FROM leases WHERE pid IS NOT NULL GROUP BY 1, 2;
        CREATE TRIGGER owners_on_insert AFTER INSERT ON leases WHEN NEW.pid IS NOT NULL BEGIN
          INSERT INTO owners (pid, pid_start, leases, since) VALUES (NEW.pid, COALESCE(NEW.pid_start, ''), 1, NEW.created_at)
            ON CONFLICT (pid, pid_start) DO UPDATE SET leases = leases + 1;
        END;
        CREATE TRIGGER owners_on_delete AFTER DELETE ON leases WHEN OLD.pid IS NOT NULL BEGIN
          UPDATE owners SET leases = leases - 1 WHERE pid = OLD.pid AND pid_start = COALESCE(OLD.pid_start, '');
          DELETE FROM owners WHERE pid = OLD.pid AND pid_start = COALESCE(OLD.pid_start, '') AND leases <= 0;
        END;
        CREATE TRIGGER owners_on_update_out AFTER UPDATE OF pid, pid_start ON leases WHEN OLD.pid IS NOT NULL BEGIN
          UPDATE owners SET leases = leases - 1 WHERE pid = OLD.pid AND pid_start = COALESCE(OLD.pid_start, '');
          DELETE FROM owners WHERE pid = OLD.pid AND pid_start = COALESCE(OLD.pid_start, '') AND leases <= 0;
        END;
        CREATE TRIGGER owners_on_update_in AFTER UPDATE OF pid, pid_start ON leases WHEN NEW.pid IS NOT NULL BEGIN
          INSERT INTO owners (pid, pid_start, leases, since) VALUES (NEW.pid, COALESCE(NEW.pid_start, ''), 1, NEW.created_at)
            ON CONFLICT (pid, pid_start) DO UPDATE SET leases = leases + 1;
        END;
      `),
  },
  {
    version: 7,
    description: 'what berth up runs: one row per service of a running stack',
    // `berth down`, `berth check` and the daemon read these from other processes. The
    // process group and its leader's start time let `berth down` stop what a SIGKILLed
    // `berth up` left without ever signalling a reused pid; the runner row tells whether
    // that `berth up` still lives.
    up: (db) =>
      db.exec(`
        CREATE TABLE runs (
          dir TEXT NOT NULL,
          environment TEXT NOT NULL,
          service TEXT NOT NULL,
          project TEXT NOT NULL,
          unit TEXT NOT NULL,
          phase TEXT NOT NULL,
          pid INTEGER,
          pgid INTEGER,
          pid_start TEXT,
          restarts INTEGER NOT NULL DEFAULT 0,
          exit_code INTEGER,
          runner_pid INTEGER NOT NULL,
          runner_start TEXT,
          stop_signal TEXT NOT NULL,
          stop_timeout INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (dir, environment, service)
        ) WITHOUT ROWID;
      `),
  },
  {
    version: 8,
    description: 'checkouts: which folder is which checkout of a project, for names',
    // A name (web.feature-x.shop.localhost) must be as sticky as a port: the label a
    // checkout got when it first registered stays, whatever its branch becomes. Labels
    // are unique within a project; '' is the project's first checkout.
    up: (db) =>
      db.exec(`
        CREATE TABLE checkouts (
          dir TEXT PRIMARY KEY,
          project TEXT NOT NULL,
          label TEXT NOT NULL,
          created_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX checkouts_name ON checkouts (project, label);
      `),
  },
  {
    version: 9,
    description: 'the second port index covers inheriting rows only',
    // leases_by_port (v4) indexed every lease a second time by port, so every lease written
    // or removed dirtied a page of each port index: 4 WAL frames per getPort commit, 3
    // without it (issue #22: each frame is two writes at COMMIT and a page to checkpoint).
    // Roots are found by port through leases_port (partial, WHERE inherits_from IS NULL);
    // this index finds the rare inheriting rows, and ad-hoc leases never touch it.
    up: (db) =>
      db.exec(`
        CREATE INDEX leases_inheritors ON leases (port) WHERE inherits_from IS NOT NULL;
        DROP INDEX leases_by_port;
      `),
  },
];

/** The version this berth writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the database to the newest version, one step per transaction.
 * Another process may migrate at the same time: the version is re-read under the lock.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const target = migrations[migrations.length - 1]?.version ?? 0;
  for (;;) {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > target) {
      throw new BerthError(
        'E_REGISTRY',
        `the registry ${db.name} has schema version ${version}, newer than this berth understands (${target}). Upgrade berth, or point BERTH_HOME elsewhere.`,
      );
    }
    if (version === target) return version;
    db.exec('BEGIN IMMEDIATE');
    try {
      const current = db.pragma('user_version', { simple: true }) as number;
      const step = migrations.find((m) => m.version === current + 1);
      if (current < target && step) {
        step.up(db);
        db.pragma(`user_version = ${step.version}`);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (error instanceof BerthError) throw error;
      throw new BerthError(
        'E_REGISTRY',
        `migrating the registry ${db.name} failed (${(error as Error).message}); it was left unchanged at its previous version. Report this, or move the file away to start afresh.`,
        { cause: error },
      );
    }
  }
}
