/**
 * A churn of 20 s (issue #8): 16 processes allocate and release ports
 * continuously, several calls at once, while a random one is killed with
 * SIGKILL and replaced every second. Afterwards the registry file is intact,
 * no live process lost a lease it held, and the next allocation reclaims every
 * lease of the killed ones.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/adapters/registry/sqlite.js';
import { getPort, releasePort } from '../../src/compose/get-port.js';
import { ROOT } from '../helpers.js';

const LIB = join(ROOT, 'dist/index.js');
const CHURN_MS = 20_000;
const WORKERS = 16;
const RANGE: [number, number] = [32000, 32699];
const h = mkdtempSync(join(tmpdir(), 'berth-churn-'));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(h, { recursive: true, force: true });
});

/**
 * A worker: leases ports in rounds of 4 at once (zero-config and in RANGE), keeps at
 * most 12, releases a random one now and then; on `stop` it finishes its round and
 * prints the ports it holds and the errors it met.
 */
const WORKER = `
  const { getPort, releasePort } = await import(${JSON.stringify(LIB)});
  const range = ${JSON.stringify(RANGE)};
  const held = new Set(); const errors = []; let running = true;
  const lines = (await import('node:readline')).createInterface({ input: process.stdin });
  lines.on('line', (line) => { if (line === 'stop') running = false; });
  console.log('ready');
  while (running) {
    const got = await Promise.allSettled([getPort(), getPort({ range }), getPort(), getPort({ range })]);
    for (const g of got) g.status === 'fulfilled' ? held.add(g.value) : errors.push(g.reason?.code ?? String(g.reason));
    while (held.size > 12) {
      const port = [...held][Math.floor(Math.random() * held.size)];
      held.delete(port);
      if (!(await releasePort(port))) errors.push('release refused ' + port);
    }
    await new Promise((r) => setTimeout(r, Math.random() * 20));
  }
  console.log(JSON.stringify({ held: [...held], errors }));
  setInterval(() => {}, 1000);`;

function start(): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER], {
    env: { ...process.env, BERTH_HOME: h },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

describe('churn', () => {
  it(
    'registry intact, live owners keep their leases, the killed ones are reclaimed by the next allocation',
    async () => {
      let live = Array.from({ length: WORKERS }, start);
      const killed: number[] = [];
      const until = Date.now() + CHURN_MS;
      while (Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const victim = live[Math.floor(Math.random() * live.length)]!;
        victim.child.kill('SIGKILL');
        await once(victim.child, 'exit');
        killed.push(victim.child.pid!);
        live = [...live.filter((w) => w !== victim), start()];
      }
      // Stop the live ones and hear what each holds.
      const reports = live.map(async (w) => {
        for (;;) {
          const { value, done } = await w.lines.next();
          if (done) throw new Error(`worker ${w.child.pid} ended early`);
          if (value !== 'ready')
            return { pid: w.child.pid!, ...(JSON.parse(value) as { held: number[]; errors: string[] }) };
        }
      });
      for (const w of live) w.child.stdin!.write('stop\n');
      const held = await Promise.all(reports);
      expect(killed.length).toBeGreaterThanOrEqual(CHURN_MS / 1000 - 2);
      expect(held.flatMap((r) => r.errors)).toEqual([]);

      const registry = openRegistry({ home: h });
      try {
        const db = new (createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3)(
          registry.path,
        );
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        db.close();
        // No live process lost a lease it held.
        for (const { pid, held: ports } of held) {
          const mine = registry.leasesOwnedBy(pid).map((l) => l.port);
          for (const port of ports) expect(mine).toContain(port);
        }
        // The next allocation reclaims every lease of every killed process.
        const next = await getPort({ home: h });
        const owners = new Set(registry.allLeases().map((l) => l.owner?.pid));
        for (const pid of killed) expect(owners.has(pid)).toBe(false);
        await releasePort(next, { home: h });
      } finally {
        registry.close();
      }
    },
    CHURN_MS + 40_000,
  );
});
