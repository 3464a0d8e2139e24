/**
 * The moment berth exists for (issue #8): many processes asking for ports at
 * once, each with many calls in flight (`Promise.all`), as parallel test
 * workers do. Nothing here is timed but the exit handler's bound; the
 * benchmark's `burst` section measures speed against get-port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry } from '../../src/adapters/registry/sqlite.js';
import { getPort, releasePort } from '../../src/compose/get-port.js';
import { ROOT } from '../helpers.js';

const LIB = join(ROOT, 'dist/index.js');
const homes: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function home(): string {
  const h = mkdtempSync(join(tmpdir(), 'berth-burst-'));
  homes.push(h);
  return h;
}

/**
 * A worker: on `go` it asks `calls` ports at once (with `options`), binds each
 * on `::` as soon as it arrives, prints `{ ports: [[port, bind]], exitMs }`
 * answers and keeps ports and leases until told `exit` (then exits normally,
 * printing how long berth's exit handler held the exit up).
 */
const WORKER = `
  import { writeSync } from 'node:fs';
  import { createServer } from 'node:net';
  import { createInterface } from 'node:readline';
  let beforeBerth = 0;
  process.on('exit', () => { beforeBerth = performance.now(); });
  const { getPort } = await import(${JSON.stringify(LIB)});
  const { calls, options } = JSON.parse(process.argv[1]);
  const servers = [];
  const bind = (port) => new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e) => resolve(e.code));
    s.listen({ port, host: '::', exclusive: true }, () => { servers.push(s); resolve('ok'); });
  });
  const lines = createInterface({ input: process.stdin });
  console.log('ready');
  lines.on('line', async (line) => {
    if (line === 'go') {
      const out = await Promise.all(Array.from({ length: calls }, () =>
        getPort(options).then((port) => bind(port).then((b) => [port, b]), (e) => ['error', e.code ?? String(e)])));
      // Registered after berth's own exit handler (installed by the first call): runs after it.
      process.on('exit', () => writeSync(1, JSON.stringify({ exitMs: performance.now() - beforeBerth }) + '\\n'));
      console.log(JSON.stringify({ ports: out }));
    }
    if (line === 'exit') { for (const s of servers) s.close(); process.exit(0); }
  });`;

interface Worker {
  child: ChildProcess;
  next(): Promise<string>;
}

async function workers(n: number, calls: number, options: unknown, h: string): Promise<Worker[]> {
  const spec = JSON.stringify({ calls, options });
  const all = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER, spec], {
      env: { ...process.env, BERTH_HOME: h },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    return {
      child,
      next: async () => {
        const { value, done } = await lines.next();
        if (done) throw new Error(`worker ${child.pid} ended without answering`);
        return value as string;
      },
    };
  });
  for (const w of all) expect(await w.next()).toBe('ready');
  return all;
}

/** Sends `go` to every worker at once and collects their answers. */
async function burst(all: Worker[]): Promise<[number | 'error', string][]> {
  const answers = all.map((w) => w.next());
  for (const w of all) w.child.stdin!.write('go\n');
  return (await Promise.all(answers)).flatMap((line) => JSON.parse(line).ports);
}

function expectDistinctAndBound(answers: [number | 'error', string][], total: number) {
  expect(answers.filter(([port]) => port === 'error')).toEqual([]);
  expect(answers).toHaveLength(total);
  expect(new Set(answers.map(([port]) => port)).size).toBe(total);
  expect(answers.filter(([, bind]) => bind !== 'ok')).toEqual([]);
}

/** Ports of the registry at `h` whose owner is not this process. */
function foreignLeases(h: string): number[] {
  const registry = openRegistry({ home: h });
  const ports = registry
    .allLeases()
    .filter((l) => l.owner?.pid !== process.pid)
    .map((l) => l.port);
  registry.close();
  return ports;
}

/** A range of 1,500 ports above berth's pool and below Linux's default ephemeral range. */
const RANGE: [number, number] = [30500, 31999];

describe('a burst of many processes with many calls each', () => {
  it('16 processes x 50 concurrent getPort({ range }): 800 distinct ports in the range, each bindable', async () => {
    const h = home();
    const all = await workers(16, 50, { range: RANGE }, h);
    const answers = await burst(all);
    expectDistinctAndBound(answers, 800);
    for (const [port] of answers) {
      expect(port).toBeGreaterThanOrEqual(RANGE[0]);
      expect(port).toBeLessThanOrEqual(RANGE[1]);
    }
  });

  it('32 processes x 25 concurrent zero-config getPort(): 800 distinct ports, each bindable', async () => {
    const h = home();
    const all = await workers(32, 25, undefined, h);
    expectDistinctAndBound(await burst(all), 800);
  });

  it('16 processes holding 50 ports each exit at once: the exit is held up at most ~50 ms, and nothing is left after the next allocation', async () => {
    const h = home();
    const all = await workers(16, 50, undefined, h);
    expectDistinctAndBound(await burst(all), 800);
    const reports = all.map((w) => w.next());
    for (const w of all) w.child.stdin!.write('exit\n');
    const exitMs = (await Promise.all(reports)).map((line) => JSON.parse(line).exitMs as number);
    await Promise.all(all.map((w) => (w.child.exitCode === null ? once(w.child, 'exit') : null)));
    // The handler stops waiting for the lock after 50 ms (a blocking busy_timeout would wait 10 s);
    // the margin covers its own work when 16 exiting processes and the test runner share 2 cores.
    for (const ms of exitMs) expect(ms).toBeLessThan(250);
    const next = await getPort({ home: h });
    expect(foreignLeases(h)).toEqual([]);
    await releasePort(next, { home: h });
  });

  it('16 processes holding 50 ports each killed with SIGKILL at once: nothing is left after the next allocation', async () => {
    const h = home();
    const all = await workers(16, 50, { range: RANGE }, h);
    expectDistinctAndBound(await burst(all), 800);
    for (const w of all) w.child.kill('SIGKILL');
    await Promise.all(all.map((w) => once(w.child, 'exit')));
    expect(foreignLeases(h)).toHaveLength(800);
    const next = await getPort({ range: RANGE, home: h });
    expect(foreignLeases(h)).toEqual([]);
    // The range's first free port again: the reclaimed ones are free to use.
    expect(next).toBeLessThan(RANGE[0] + 800);
    await releasePort(next, { home: h });
  });
});
