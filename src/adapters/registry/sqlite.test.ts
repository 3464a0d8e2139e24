import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { lease, registryContract } from '../../../test/contract/registry.js';
import { waitFor } from '../../../test/helpers.js';
import type { Registry } from '../../core/registry.js';
import { isBerthError } from '../../errors.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.js';
import {
  CHECKPOINT_FORCE_BYTES,
  CHECKPOINT_WAL_BYTES,
  lockQueueDir,
  openRegistry,
  REGISTRY_FILE,
} from './sqlite.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const homes: string[] = [];
const open: Registry[] = [];
const children: ChildProcess[] = [];

function tempHome() {
  const home = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  homes.push(home);
  return home;
}

function registryIn(home = tempHome()) {
  const registry = openRegistry({ home });
  open.push(registry);
  return registry;
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const r of open.splice(0)) r.close();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

registryContract('sqlite', async (options) => {
  const registry = openRegistry({
    home: tempHome(),
    ...(options?.beforeBatch ? { beforeBatch: options.beforeBatch } : {}),
  });
  return registry;
});

describe('WAL checkpoints', () => {
  /** Leases and releases a port `rounds` times; `between` runs after each pair. Returns the largest WAL seen. */
  async function churn(home: string, rounds: number, between: () => Promise<void> | void): Promise<number> {
    const r = registryIn(home);
    const wal = join(home, `${REGISTRY_FILE}-wal`);
    let largest = 0;
    for (let i = 0; i < rounds; i++) {
      const leased = await r.transaction((tx) =>
        tx.insert(lease({ port: 20000 + (i % 5000), kind: 'adhoc' })),
      );
      await r.transaction((tx) => tx.remove(leased.id, 'released'));
      largest = Math.max(largest, existsSync(wal) ? statSync(wal).size : 0);
      await between();
    }
    expect(r.allLeases()).toEqual([]);
    return largest;
  }

  it('checkpoint on an idle turn of the event loop, after the fsync on the thread pool: the WAL stays near its limit', async () => {
    const home = tempHome();
    const r = registryIn(home);
    const wal = join(home, `${REGISTRY_FILE}-wal`);
    const size = () => (existsSync(wal) ? statSync(wal).size : 0);
    let largest = 0;
    let i = 0;
    const round = async () => {
      const leased = await r.transaction((tx) =>
        tx.insert(lease({ port: 20000 + (i++ % 5000), kind: 'adhoc' })),
      );
      await r.transaction((tx) => tx.remove(leased.id, 'released'));
      largest = Math.max(largest, size());
    };
    // Writes that yield to the event loop, until the WAL passes its limit.
    while (size() < CHECKPOINT_WAL_BYTES) {
      await round();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Then a write every 10 ms: the fsync (on the thread pool, however busy the disk) and the
    // idle turn have their time, and the first write after the checkpoint restarts the WAL.
    await waitFor(
      async () => {
        await round();
        return size() < CHECKPOINT_WAL_BYTES;
      },
      { timeoutMs: 60_000, what: 'the WAL restarted after a checkpoint' },
    );
    // The forced checkpoint (past CHECKPOINT_FORCE_BYTES) was never needed.
    expect(largest).toBeLessThan(CHECKPOINT_FORCE_BYTES);
    expect(r.allLeases()).toEqual([]);
    const db = new Database(join(home, REGISTRY_FILE), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('the WAL starts over in the turn of its checkpoint, not in the next write (whose commit would fsync its header)', async () => {
    const home = tempHome();
    const r = registryIn(home);
    const wal = join(home, `${REGISTRY_FILE}-wal`);
    const size = () => (existsSync(wal) ? statSync(wal).size : 0);
    // The WAL header's checkpoint sequence number: it moves on each time the WAL starts over.
    const sequence = () => (existsSync(wal) ? readFileSync(wal).subarray(12, 16).readUInt32BE(0) : -1);
    let i = 0;
    const round = async () => {
      const leased = await r.transaction((tx) =>
        tx.insert(lease({ port: 20000 + (i++ % 5000), kind: 'adhoc' })),
      );
      await r.transaction((tx) => tx.remove(leased.id, 'released'));
    };
    while (size() < CHECKPOINT_WAL_BYTES) {
      await round();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Enough batches for a look at the WAL's size, with no turn of the event loop between
    // them: the checkpoint is due, and its fsync (on the thread pool) cannot end before the last.
    for (let k = 0; k < 8; k++) await round();
    const before = sequence();
    // No more writes: the checkpoint starts the WAL over by itself.
    await waitFor(() => sequence() !== before, { timeoutMs: 10_000, what: 'the WAL started over' });
    expect(r.allLeases()).toEqual([]);
    const db = new Database(join(home, REGISTRY_FILE), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('application_id', { simple: true })).toBe(0);
    db.close();
  });

  it('a caller that never yields to the event loop still keeps the WAL bounded (checkpoint after the commit)', async () => {
    const home = tempHome();
    const largest = await churn(home, 1500, () => {});
    expect(largest).toBeGreaterThanOrEqual(CHECKPOINT_FORCE_BYTES);
    // Checked every few batches: a little past the bound, never far.
    expect(largest).toBeLessThan(CHECKPOINT_FORCE_BYTES + 256 * 1024);
  });
});

describe('migrations', () => {
  it('creates a fresh registry at the newest version in WAL mode', () => {
    const home = tempHome();
    registryIn(home).close();
    const db = new Database(join(home, REGISTRY_FILE));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  for (const from of MIGRATIONS.slice(0, -1).map((m) => m.version)) {
    it(`upgrades a registry from version ${from}, keeping its leases`, () => {
      const home = tempHome();
      const db = new Database(join(home, REGISTRY_FILE));
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= from),
      );
      expect(db.pragma('user_version', { simple: true })).toBe(from);
      db.prepare(
        `INSERT INTO leases (port, kind, project, dir, environment, service, created_at) VALUES (4321, 'service', 'p', '/d', 'development', 's', 5)`,
      ).run();
      db.close();
      const registry = registryIn(home);
      expect(registry.allLeases().map((l) => [l.port, l.service])).toEqual([[4321, 's']]);
      registry.close();
      const after = new Database(join(home, REGISTRY_FILE));
      expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      after.close();
    });
  }

  it('a failing migration leaves the file at its previous version, unchanged', () => {
    const home = tempHome();
    const db = new Database(join(home, REGISTRY_FILE));
    migrate(db, MIGRATIONS.slice(0, 1));
    const broken = [
      ...MIGRATIONS.slice(0, 1),
      {
        version: 2,
        description: 'half done, then fails',
        up: (d: BetterSqlite3.Database) => {
          d.exec('CREATE TABLE half_done (x INTEGER)');
          throw new Error('Migration 001_initial_schema failed');
        },
      },
    ];
    let error: unknown;
    try {
      migrate(db, broken);
    } catch (e) {
      error = e;
    }
    expect(isBerthError(error, 'E_REGISTRY')).toBe(true);
    expect((error as Error).message).toContain('left unchanged at its previous version');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").all()).toEqual([]);
    db.close();
  });

  it('an older berth (one version behind) refuses the newest registry, saying so, and leaves it and its leases alone', async () => {
    const home = tempHome();
    const registry = registryIn(home);
    const l = lease({ port: 4321, service: 's' });
    await registry.transaction((tx) => tx.insert(l));
    registry.close();
    const older = MIGRATIONS.slice(0, -1);
    const db = new Database(join(home, REGISTRY_FILE));
    expect(() => migrate(db, older)).toThrow(
      `has schema version ${SCHEMA_VERSION}, newer than this berth understands (${SCHEMA_VERSION - 1}). Upgrade berth`,
    );
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    const again = registryIn(home);
    expect(again.allLeases().map((x) => [x.port, x.service])).toEqual([[4321, 's']]);
    again.close();
  });

  it('refuses a registry from a newer berth', () => {
    const home = tempHome();
    const db = new Database(join(home, REGISTRY_FILE));
    db.pragma('user_version = 999');
    db.close();
    expect(() => openRegistry({ home })).toThrow(/newer than this berth understands/);
  });
});

describe('query plans', () => {
  // The allocation path must not scan the table: its cost may not grow with the registry.
  const cases: [string, string][] = [
    [
      'range',
      'SELECT * FROM leases WHERE port BETWEEN 1 AND 2 AND inherits_from IS NULL UNION ALL SELECT * FROM leases WHERE port BETWEEN 1 AND 2 AND inherits_from IS NOT NULL ORDER BY port',
    ],
    ['ports', 'SELECT port FROM leases WHERE port BETWEEN 1 AND 2 AND inherits_from IS NULL ORDER BY port'],
    ['scope', "SELECT * FROM leases WHERE dir = 'd' AND environment = 'e' AND kind = 'service' ORDER BY id"],
    ['expiry', 'SELECT * FROM leases WHERE expires_at IS NOT NULL AND expires_at <= 5 ORDER BY id'],
  ];
  for (const [name, sql] of cases) {
    it(`the ${name} lookup uses an index`, () => {
      const home = tempHome();
      registryIn(home).close();
      const db = new Database(join(home, REGISTRY_FILE));
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map(
        (r) => r.detail,
      );
      db.close();
      expect(plan.join('; ')).toMatch(/USING (COVERING )?INDEX/);
      expect(plan.join('; ')).not.toMatch(/^SCAN leases$/m);
    });
  }
});

describe('leases (SQLite only: raw rows, the lock)', () => {
  it('skips malformed rows instead of trusting them', async () => {
    const home = tempHome();
    const r = registryIn(home);
    await r.transaction((tx) => tx.insert(lease()));
    const db = new Database(join(home, REGISTRY_FILE));
    db.prepare(
      "INSERT INTO leases (port, kind, project, dir, environment, service, created_at, pid) VALUES (4005, 'service', 'p', '/d', 'e', 's2', 1, -5)",
    ).run();
    db.close();
    expect(r.allLeases().map((l) => l.port)).toEqual([4000]);
  });

  it('waits for another connection holding the write lock, then proceeds', async () => {
    const home = tempHome();
    const r = registryIn(home);
    const other = new Database(join(home, REGISTRY_FILE));
    other.exec('BEGIN IMMEDIATE');
    const events: string[] = [];
    const pending = r.transaction((tx) => tx.insert(lease())).then(() => events.push('transaction done'));
    // The transaction waits in the lock queue, and the event loop keeps running meanwhile:
    // this test's own polling sees its ticket while the other connection still holds the lock.
    const queue = lockQueueDir(join(home, REGISTRY_FILE));
    await waitFor(() => existsSync(queue) && readdirSync(queue).length > 0, {
      timeoutMs: 10_000,
      what: 'a ticket in the lock queue',
    });
    events.push('waiting in the queue');
    expect(r.allLeases()).toEqual([]);
    other.exec('COMMIT');
    other.close();
    events.push('lock released');
    await pending;
    expect(events).toEqual(['waiting in the queue', 'lock released', 'transaction done']);
    expect(r.allLeases()).toHaveLength(1);
  });

  it('gives up with E_REGISTRY_LOCKED when one holder keeps the lock past the timeout, naming it', async () => {
    const home = tempHome();
    registryIn(home).close();
    const r = openRegistry({ home, lockTimeoutMs: 150 });
    open.push(r);
    const holder = await holdLockInChild(join(home, REGISTRY_FILE));
    const error = await r.transaction((tx) => tx.insert(lease())).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_REGISTRY_LOCKED' });
    if (process.platform === 'linux') {
      expect((error as Error).message).toContain(`pid ${holder.pid} (`);
      expect((error as Error).message).toMatch(/node -e .*\) holds it\. Stop that process/);
    }
    // Nothing was written, and the registry works once the holder is gone.
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    await r.transaction((tx) => tx.insert(lease()));
    expect(r.allLeases()).toHaveLength(1);
  });

  it('a process waiting behind others that keep committing never times out', async () => {
    const home = tempHome();
    registryIn(home).close();
    const r = openRegistry({ home, lockTimeoutMs: 100 });
    open.push(r);
    // Another process commits small transactions back to back for about a second.
    const busy = spawnWriter(join(home, REGISTRY_FILE), 1000);
    await once(busy.stdout!, 'data');
    const started = Date.now();
    let done = 0;
    while (Date.now() - started < 800) {
      await r.transaction((tx) => tx.insert(lease({ port: 4000 + done, service: `s${done}` })));
      done++;
    }
    expect(done).toBeGreaterThan(5);
    await once(busy, 'exit');
  });
});

/** A child process holding the registry's write lock until killed. */
async function holdLockInChild(path: string) {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `const D = require(${JSON.stringify(sqlite)}); const db = new D(${JSON.stringify(path)});
    db.exec('BEGIN IMMEDIATE'); console.log('holding'); setInterval(() => {}, 1000);`.replace(/\s+/g, ' ');
  const child = spawn(process.execPath, ['-e', script, 'hold-registry-lock'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await once(child.stdout!, 'data');
  return child;
}

/** A child process committing one small transaction after another for `ms`. */
function spawnWriter(path: string, ms: number) {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script =
    `const D = require(${JSON.stringify(sqlite)}); const db = new D(${JSON.stringify(path)}, { timeout: 5000 });
    db.exec('CREATE TABLE IF NOT EXISTS noise (x)'); console.log('go'); const end = Date.now() + ${ms};
    while (Date.now() < end) { db.exec('BEGIN IMMEDIATE'); db.exec('INSERT INTO noise VALUES (1)'); db.exec('COMMIT'); }`.replace(
      /\s+/g,
      ' ',
    );
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}
