import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
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

  it('forgets the history of one scope only (a test run that never comes back)', async () => {
    const r = registryIn();
    const run = { dir: '/w/shop', environment: 'test.run-3f9a2c01' };
    await r.transaction((tx) => {
      tx.insert(lease());
      tx.insert(lease({ port: 4001, environment: run.environment }));
    });
    await r.transaction((tx) => {
      for (const l of tx.allLeases()) tx.remove(l.id, 'released');
      tx.forgetHistory(run);
    });
    expect(r.history(run).size).toBe(0);
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

describe('group commit', () => {
  it('runs the concurrent transactions of a process in one batch; one that fails changes nothing of its own', async () => {
    const r = registryIn();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        r.transaction((tx) => {
          tx.insert(lease({ port: 5000 + i, service: `s${i}` }));
          // The 7th also tries a port the 3rd holds: the UNIQUE index refuses, its own insert is undone.
          if (i === 7) tx.insert(lease({ port: 5003, service: 'dup' }));
          return tx.batch;
        }),
      ),
    );
    expect(results.map((x) => x.status).filter((x) => x === 'rejected')).toHaveLength(1);
    expect((results[7] as PromiseRejectedResult).reason).toMatchObject({ code: 'E_PORT_HELD' });
    // Grouped: far fewer batches than requests (the time budget may split one on a loaded machine).
    const batches = new Set(results.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : [])));
    expect(batches.size).toBeLessThanOrEqual(5);
    const ports = r.allLeases().map((l) => l.port);
    expect(ports).toHaveLength(19);
    expect(ports).not.toContain(5007);
  });

  it('runs the batch hook once per batch, before the requests', async () => {
    const home = tempHome();
    const seen: string[] = [];
    const r = openRegistry({ home, beforeBatch: (tx) => seen.push(`hook ${tx.batch}`) });
    open.push(r);
    await Promise.all([1, 2, 3].map((i) => r.transaction((tx) => seen.push(`job ${i} ${tx.batch}`))));
    await r.transaction((tx) => seen.push(`job 4 ${tx.batch}`));
    expect(seen).toEqual(['hook 1', 'job 1 1', 'job 2 1', 'job 3 1', 'hook 2', 'job 4 2']);
  });

  it('keeps the owners table right through inserts, owner changes and removals', async () => {
    const r = registryIn();
    const a = { pid: 101, startTime: '7' };
    const b = { pid: 202, startTime: null };
    await r.transaction((tx) => {
      tx.insert(lease({ port: 6001, service: 'a1', owner: a, createdAt: 5 }));
      tx.insert(lease({ port: 6002, service: 'a2', owner: a, createdAt: 9 }));
      const x = tx.insert(lease({ port: 6003, service: 'x', owner: null }));
      tx.setOwner(x.id, b, null);
    });
    const owners = (): string[] =>
      r
        .owners()
        .map((o) => `${o.pid}/${o.startTime}/${o.since}`)
        .sort();
    expect(owners()).toEqual(['101/7/5', `202/null/1`]);
    await r.transaction((tx) => {
      expect(tx.removeOwnedBy(a, 'reclaimed').map((l) => l.port)).toEqual([6001, 6002]);
    });
    expect(owners()).toEqual(['202/null/1']);
    await r.transaction((tx) => tx.setOwner(r.allLeases()[0]!.id, null, null));
    expect(owners()).toEqual([]);
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
