import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewLease, Registry } from '../../core/registry.js';
import { isBerthError } from '../../errors.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.js';
import { openRegistry, REGISTRY_FILE } from './sqlite.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const homes: string[] = [];
const open: Registry[] = [];

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
  for (const r of open.splice(0)) r.close();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function lease(over: Partial<NewLease> = {}): NewLease {
  return {
    port: 4000,
    kind: 'service',
    project: 'shop',
    dir: '/w/shop',
    environment: 'development',
    service: 'server',
    inheritsFrom: null,
    owner: null,
    createdAt: 1,
    expiresAt: null,
    scheme: 'http',
    ...over,
  };
}

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
    ['range', 'SELECT * FROM leases WHERE port BETWEEN 1 AND 2 ORDER BY port'],
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

describe('leases', () => {
  it('inserts, reads back by scope, range and pid, and removes into history', async () => {
    const r = registryIn();
    await r.transaction((tx) => {
      tx.insert(lease());
      tx.insert(lease({ service: 'websocket', inheritsFrom: 'server' }));
      tx.insert(lease({ port: 4001, service: 'client', owner: { pid: 77, startTime: '9' } }));
    });
    expect(r.scopeLeases({ dir: '/w/shop', environment: 'development' }).map((l) => l.service)).toEqual([
      'server',
      'websocket',
      'client',
    ]);
    expect(r.leasesInRange(4001, 4001).map((l) => l.service)).toEqual(['client']);
    // Owning leases only: websocket shares 4000 with server.
    expect(r.leasedPorts(3000, 5000)).toEqual([4000, 4001]);
    expect(r.leasesOwnedBy(77)[0]!.owner).toEqual({ pid: 77, startTime: '9' });
    const server = r.scopeLeases({ dir: '/w/shop', environment: 'development' })[0]!;
    await r.transaction((tx) => tx.remove(server.id, 'released'));
    // Removing a root removes the rows that inherit its port.
    expect(r.scopeLeases({ dir: '/w/shop', environment: 'development' }).map((l) => l.service)).toEqual([
      'client',
    ]);
    expect(r.history({ dir: '/w/shop', environment: 'development' }).get('server')).toBe(4000);
  });

  it('UNIQUE constraints refuse a second owner of a port and a second lease of a service', async () => {
    const r = registryIn();
    await r.transaction((tx) => tx.insert(lease()));
    await expect(r.transaction((tx) => tx.insert(lease({ service: 'other' })))).rejects.toMatchObject({
      code: 'E_PORT_HELD',
    });
    await expect(r.transaction((tx) => tx.insert(lease({ port: 4002 })))).rejects.toMatchObject({
      code: 'E_PORT_HELD',
    });
    expect(r.allLeases()).toHaveLength(1);
  });

  it('a failing transaction changes nothing', async () => {
    const r = registryIn();
    await expect(
      r.transaction((tx) => {
        tx.insert(lease());
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(r.allLeases()).toEqual([]);
  });

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

  it('returns expired leases and keeps an ordered event log', async () => {
    const r = registryIn();
    await r.transaction((tx) => {
      tx.insert(lease({ expiresAt: 100 }));
      tx.insert(lease({ port: 4001, service: 'b', expiresAt: 500 }));
      for (const type of ['assigned', 'released'] as const) {
        tx.recordEvent({
          at: 1,
          type,
          project: 'shop',
          dir: '/w/shop',
          environment: 'development',
          service: 'server',
          port: 4000,
          fromPort: null,
          detail: '',
        });
      }
    });
    expect((await r.transaction((tx) => tx.expired(200))).map((l) => l.port)).toEqual([4000]);
    const events = r.eventsSince(0, 10);
    expect(events.map((e) => e.type)).toEqual(['assigned', 'released']);
    expect(events[1]!.id).toBeGreaterThan(events[0]!.id);
    expect(r.eventsSince(events[0]!.id, 10).map((e) => e.type)).toEqual(['released']);
    expect(r.lastEventId()).toBe(events[1]!.id);
  });

  it('waits for another connection holding the write lock, then proceeds', async () => {
    const home = tempHome();
    const r = registryIn(home);
    const other = new Database(join(home, REGISTRY_FILE));
    other.exec('BEGIN IMMEDIATE');
    const pending = r.transaction((tx) => tx.insert(lease()));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    other.exec('COMMIT');
    other.close();
    await pending;
    clearInterval(timer);
    // The event loop kept running while the lock was held.
    expect(ticks).toBeGreaterThan(5);
    expect(r.allLeases()).toHaveLength(1);
  });

  it('gives up with E_REGISTRY_LOCKED after the lock timeout', async () => {
    const home = tempHome();
    const r = openRegistry({ home, lockTimeoutMs: 50 });
    open.push(r);
    const other = new Database(join(home, REGISTRY_FILE));
    other.exec('BEGIN IMMEDIATE');
    await expect(r.transaction((tx) => tx.insert(lease()))).rejects.toMatchObject({
      code: 'E_REGISTRY_LOCKED',
    });
    other.exec('ROLLBACK');
    other.close();
  });
});
