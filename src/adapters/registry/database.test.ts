import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { lease } from '../../../test/contract/registry.js';
import { ROOT } from '../../../test/helpers.js';
import type { Registry } from '../../core/registry.js';
import { useBundledSqlite } from './database.js';
import { openRunStore } from './runs.js';
import { openRegistry, REGISTRY_FILE } from './sqlite.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const homes: string[] = [];
const opened: { close(): void }[] = [];

afterEach(() => {
  for (const r of opened.splice(0)) r.close();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'berth-damaged-'));
  homes.push(home);
  return home;
}

/** Opens the registry in `home`, collecting the lines it says about damage. */
function openCollecting(home: string): { registry: Registry; notices: string[] } {
  const notices: string[] = [];
  const registry = openRegistry({ home, notice: (line) => notices.push(line) });
  opened.push(registry);
  return { registry, notices };
}

/** A registry in `home` holding `count` leases, checkpointed into the main file and closed. */
async function filledRegistry(home: string, count: number): Promise<void> {
  const registry = openRegistry({ home });
  await registry.transaction((tx) => {
    for (let i = 0; i < count; i++) tx.insert(lease({ port: 30000 + i, service: `s${i}` }));
  });
  registry.close();
  const db = new Database(join(home, REGISTRY_FILE));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Overwrites `length` bytes of `file` from `offset` with garbage. */
function scribble(file: string, offset: number, length: number): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  closeSync(fd);
}

const asideFiles = (home: string) => readdirSync(home).filter((f) => f.includes('.corrupt-'));

describe('a damaged registry file', () => {
  it('overwritten by garbage: moved aside, a fresh registry works, one line says so', async () => {
    const home = tempHome();
    const path = join(home, REGISTRY_FILE);
    writeFileSync(path, Buffer.alloc(64 * 1024, 0x5a));
    const { registry, notices } = openCollecting(home);
    await registry.transaction((tx) => tx.insert(lease({ port: 31000 })));
    expect(registry.allLeases().map((l) => l.port)).toEqual([31000]);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`the registry ${path} was damaged (file is not a database)`);
    expect(notices[0]).toContain('started a fresh registry');
    const aside = asideFiles(home);
    expect(aside).toHaveLength(1);
    expect(notices[0]).toContain(`it is now ${join(home, aside[0]!)}`);
  });

  it('with damaged pages behind a valid header: found by the check, moved aside', async () => {
    const home = tempHome();
    await filledRegistry(home, 400);
    // Page 1 (the header and the schema) stays; the pages of the tables behind it do not.
    scribble(join(home, REGISTRY_FILE), 1024, 16 * 1024);
    const { registry, notices } = openCollecting(home);
    await registry.transaction((tx) => tx.insert(lease({ port: 31001 })));
    expect(registry.allLeases()).toHaveLength(1);
    expect(notices).toHaveLength(1);
    expect(asideFiles(home).length).toBeGreaterThanOrEqual(1);
  });

  it('damage met inside a transaction: E_REGISTRY that says so, and the next open moves the file aside', async () => {
    const home = tempHome();
    await filledRegistry(home, 2000);
    // Leaf pages of the leases table, far from the schema the open reads.
    scribble(join(home, REGISTRY_FILE), 200 * 1024, 64 * 1024);
    const { registry, notices } = openCollecting(home);
    expect(notices).toEqual([]);
    const error = await registry.transaction((tx) => tx.allLeases()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_REGISTRY' });
    expect((error as Error).message).toMatch(/is damaged \(.*\)\. The next berth command checks it/);
    registry.close();
    const again = openCollecting(home);
    expect(again.notices).toHaveLength(1);
    expect(again.notices[0]).toContain('(an earlier error)');
    expect(again.registry.allLeases()).toEqual([]);
  });

  it('a sound file with a stale damage marker is checked once and kept', async () => {
    const home = tempHome();
    await filledRegistry(home, 3);
    writeFileSync(join(home, `${REGISTRY_FILE}.damaged`), '1\n');
    const { registry, notices } = openCollecting(home);
    expect(registry.allLeases()).toHaveLength(3);
    expect(notices).toEqual([]);
    expect(existsSync(join(home, `${REGISTRY_FILE}.damaged`))).toBe(false);
    expect(asideFiles(home)).toEqual([]);
  });

  it('the run store opens past a damaged file too', () => {
    const home = tempHome();
    writeFileSync(join(home, REGISTRY_FILE), Buffer.alloc(8 * 1024, 0x33));
    const runs = openRunStore({ home, notice: () => {} });
    opened.push(runs);
    expect(runs.scopeRuns({ dir: '/w', environment: 'development' })).toEqual([]);
    expect(asideFiles(home)).toHaveLength(1);
  });

  it('a folder berth cannot use keeps the permissions message', () => {
    const home = tempHome();
    const notAFolder = join(home, 'file');
    writeFileSync(notAFolder, '');
    expect(() => openRegistry({ home: notAFolder })).toThrow(
      /Check the folder's permissions or set BERTH_HOME/,
    );
  });

  it('processes meeting the damage at once move it aside once, and none of them loses its lease', async () => {
    const home = tempHome();
    writeFileSync(join(home, REGISTRY_FILE), Buffer.alloc(32 * 1024, 0x77));
    const lib = join(ROOT, 'dist/adapters/registry/sqlite.js');
    const count = 6;
    const children = Array.from({ length: count }, (_, i) => {
      const script = `import { openRegistry } from ${JSON.stringify(lib)};
        const r = openRegistry({ home: ${JSON.stringify(home)} });
        await r.transaction((tx) => tx.insert({ port: ${32000 + i}, kind: 'adhoc', project: '', dir: '', environment: '',
          service: 'p${i}', inheritsFrom: null, owner: null, createdAt: 0, expiresAt: null, scheme: null }));
        r.close();`;
      return spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    });
    const stderr = children.map((c) => {
      let text = '';
      c.stderr!.on('data', (d) => {
        text += String(d);
      });
      return () => text;
    });
    const codes = await Promise.all(children.map(async (c) => (await once(c, 'exit'))[0]));
    expect(codes).toEqual(Array(count).fill(0));
    const said = stderr.map((read) => read()).join('');
    expect(said.match(/was damaged/g)).toHaveLength(1);
    expect(asideFiles(home)).toHaveLength(1);
    const { registry } = openCollecting(home);
    expect(registry.allLeases().map((l) => l.port)).toEqual(
      Array.from({ length: count }, (_, i) => 32000 + i),
    );
  });
});

describe('which better-sqlite3 JavaScript is loaded (useBundledSqlite)', () => {
  it("uses the CLI bundle's copy only beside a found addon of the version it was built from", () => {
    expect(useBundledSqlite('12.11.1', '12.11.1', true)).toBe(true);
    // Another installed version: its JavaScript calls its own addon's internals.
    expect(useBundledSqlite('12.11.1', '12.12.0', true)).toBe(false);
    expect(useBundledSqlite('12.11.1', undefined, true)).toBe(false);
    // No addon where npm builds it: the installed package searches for it.
    expect(useBundledSqlite('12.11.1', '12.11.1', false)).toBe(false);
    // The library's builds and the sources bundle nothing.
    expect(useBundledSqlite(undefined, '12.11.1', true)).toBe(false);
  });
});
