import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunStore, ServiceRun } from '../../core/runs.js';
import { isBerthError } from '../../errors.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.js';
import { openRunStore } from './runs.js';
import { openRegistry, REGISTRY_FILE } from './sqlite.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const homes: string[] = [];
const stores: RunStore[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function tempHome() {
  const home = mkdtempSync(join(tmpdir(), 'berth-runs-'));
  homes.push(home);
  return home;
}

function storeIn(home = tempHome()) {
  const store = openRunStore({ home });
  stores.push(store);
  return store;
}

const RUNS_VERSION = 7;

function run(over: Partial<ServiceRun> = {}): ServiceRun {
  return {
    project: 'shop',
    dir: '/w/shop',
    environment: 'development',
    service: 'api',
    unit: 'api',
    phase: 'starting',
    group: { pid: 5001, pgid: 5001, startTime: '777' },
    restarts: 0,
    exitCode: null,
    runner: { pid: 5000, startTime: '666' },
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
    updatedAt: 1,
    ...over,
  };
}

describe('the runs migration', () => {
  it('is a step of the schema this berth writes', () => {
    expect(MIGRATIONS.find((m) => m.version === RUNS_VERSION)?.description).toMatch(/berth up runs/);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(RUNS_VERSION);
  });

  it('upgrades a registry at the version before, keeping its leases and adding the runs table', () => {
    const home = tempHome();
    const db = new Database(join(home, REGISTRY_FILE));
    migrate(
      db,
      MIGRATIONS.filter((m) => m.version < RUNS_VERSION),
    );
    db.prepare(
      `INSERT INTO leases (port, kind, project, dir, environment, service, created_at) VALUES (4321, 'service', 'p', '/d', 'development', 's', 5)`,
    ).run();
    db.close();
    const store = storeIn(home);
    store.put(run());
    expect(store.allRuns()).toEqual([run()]);
    const registry = openRegistry({ home });
    expect(registry.allLeases().map((l) => l.port)).toEqual([4321]);
    registry.close();
  });

  it('rolls back as a whole when it fails: the file stays at the version before, without the table', () => {
    const home = tempHome();
    const db = new Database(join(home, REGISTRY_FILE));
    const before = MIGRATIONS.filter((m) => m.version < RUNS_VERSION);
    migrate(db, before);
    const runs = MIGRATIONS.find((m) => m.version === RUNS_VERSION)!;
    const failing = [
      ...before,
      {
        ...runs,
        up: (d: BetterSqlite3.Database) => {
          runs.up(d);
          throw new Error('disk full');
        },
      },
    ];
    let error: unknown;
    try {
      migrate(db, failing);
    } catch (e) {
      error = e;
    }
    expect(isBerthError(error, 'E_REGISTRY')).toBe(true);
    expect(db.pragma('user_version', { simple: true })).toBe(RUNS_VERSION - 1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'runs'").all()).toEqual([]);
    db.close();
  });
});

describe('the run store', () => {
  it('creates the registry when none exists, and reads rows back by scope', () => {
    const store = storeIn();
    store.put(run());
    store.put(run({ service: 'ws', unit: 'api' }));
    store.put(run({ dir: '/w/other', service: 'api' }));
    expect(store.scopeRuns({ dir: '/w/shop', environment: 'development' }).map((r) => r.service)).toEqual([
      'api',
      'ws',
    ]);
    expect(store.allRuns()).toHaveLength(3);
  });

  it('replaces the row of a service, and keeps a unit without a process group', () => {
    const store = storeIn();
    store.put(run());
    store.put(run({ phase: 'ready', restarts: 2, exitCode: 1, updatedAt: 9 }));
    store.put(run({ service: 'db', unit: 'db', phase: 'pending', group: null }));
    expect(store.allRuns()).toEqual([
      run({ phase: 'ready', restarts: 2, exitCode: 1, updatedAt: 9 }),
      run({ service: 'db', unit: 'db', phase: 'pending', group: null }),
    ]);
  });

  it("clears a scope, or only one runner's rows of it", () => {
    const store = storeIn();
    store.put(run());
    store.put(run({ service: 'db', runner: { pid: 6000, startTime: null } }));
    store.clear({ dir: '/w/shop', environment: 'development' }, { pid: 6000, startTime: null });
    expect(store.allRuns().map((r) => r.service)).toEqual(['api']);
    store.clear({ dir: '/w/shop', environment: 'development' });
    expect(store.allRuns()).toEqual([]);
  });

  it('skips malformed rows instead of trusting them', () => {
    const home = tempHome();
    const store = storeIn(home);
    store.put(run());
    const db = new Database(join(home, REGISTRY_FILE));
    const insert = db.prepare(
      `INSERT INTO runs (dir, environment, service, project, unit, phase, pid, pgid, pid_start, restarts, runner_pid, stop_signal, stop_timeout, updated_at)
       VALUES ('/w/shop', 'development', ?, 'shop', 'x', ?, ?, ?, NULL, 0, ?, ?, 1000, 1)`,
    );
    insert.run('bad-phase', 'running', 10, 10, 5000, 'SIGTERM');
    insert.run('group-zero', 'ready', 10, 0, 5000, 'SIGTERM');
    insert.run('bad-signal', 'ready', 10, 10, 5000, 'SIGSTOP');
    insert.run('no-runner', 'ready', 10, 10, 0, 'SIGTERM');
    db.close();
    expect(store.allRuns().map((r) => r.service)).toEqual(['api']);
  });
});
