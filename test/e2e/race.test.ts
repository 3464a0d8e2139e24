/**
 * The benchmark's correctness checks in miniature (bench/sections/race.mjs and
 * false-positives.mjs measure the same at full size, against the peers):
 * processes racing for ports of one small range never share a port, never
 * meet EADDRINUSE and never leave the range; a range too small for the asks
 * ends in E_NO_PORT; and a port held on any one address is never handed out.
 * Nothing here is timed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getPort, releasePort } from '../../src/compose/get-port.js';
import { close, ROOT, reserveBlock } from '../helpers.js';

const LIB = join(ROOT, 'dist/index.js');
const PROCESSES = 8;
const ASKS = 5;

const homes: string[] = [];
const children: ChildProcess[] = [];

function home(): string {
  const h = mkdtempSync(join(tmpdir(), 'berth-race-'));
  homes.push(h);
  return h;
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

/** One answer of a racing process: a port and how binding it went, or getPort's error code. */
type Answer = { port: number; bind: string } | { error: string };

/**
 * A racing process: waits for `go` on stdin, asks ASKS times for a port in
 * the range and binds each on `::` (at once, or after all asks in `batch`
 * mode), prints the answers, and holds ports and leases until stdin closes.
 */
const WORKER = `
  import { getPort } from ${JSON.stringify(LIB)};
  import { createServer } from 'node:net';
  const { range, asks, mode } = JSON.parse(process.argv[1]);
  const servers = [];
  const bind = (port) => new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e) => resolve(e.code));
    s.listen({ port, host: '::', exclusive: true }, () => { servers.push(s); resolve('ok'); });
  });
  process.stdin.once('data', async () => {
    const out = [];
    for (let i = 0; i < asks; i++) {
      try {
        const port = await getPort({ range });
        out.push(mode === 'bind-each' ? { port, bind: await bind(port) } : { port, bind: 'later' });
      } catch (e) { out.push({ error: e.code ?? String(e) }); }
    }
    for (const a of out) if (a.bind === 'later') a.bind = await bind(a.port);
    console.log(JSON.stringify(out));
  });
  process.stdin.on('end', () => process.exit(0));`;

async function race(range: [number, number], mode: 'bind-each' | 'batch'): Promise<Answer[]> {
  const h = home();
  const spec = JSON.stringify({ range, asks: ASKS, mode });
  const workers = Array.from({ length: PROCESSES }, () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER, spec], {
      env: { ...process.env, BERTH_HOME: h },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    return child;
  });
  const outputs = workers.map(
    (child) =>
      new Promise<Answer[]>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`racing process exited early with code ${code}`)));
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          if (out.endsWith('\n')) resolve(JSON.parse(out) as Answer[]);
        });
      }),
  );
  // Every process has loaded berth before any asks: `go` goes to all at once.
  for (const child of workers) child.stdin!.write('go\n');
  const answers = (await Promise.all(outputs)).flat();
  const exited = workers.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of workers) child.stdin!.end();
  await Promise.all(exited);
  return answers;
}

const ports = (answers: Answer[]) => answers.flatMap((a) => ('port' in a ? [a] : []));

describe('processes racing for one range', () => {
  for (const mode of ['bind-each', 'batch'] as const) {
    it(`${PROCESSES} processes x ${ASKS} asks in a 64-port range (${mode}): distinct ports, all bindable, all in range`, async () => {
      const block = await reserveBlock(64);
      const range: [number, number] = [block[0]!, block.at(-1)!];
      const answers = await race(range, mode);
      const got = ports(answers);
      expect(got).toHaveLength(PROCESSES * ASKS);
      expect(new Set(got.map((a) => a.port)).size).toBe(got.length);
      expect(got.filter((a) => a.bind !== 'ok')).toEqual([]);
      expect(got.filter((a) => a.port < range[0] || a.port > range[1])).toEqual([]);
    });
  }

  it('a range too small for every ask fills up, then fails with E_NO_PORT, never leaving the range', async () => {
    const block = await reserveBlock(16);
    const range: [number, number] = [block[0]!, block.at(-1)!];
    const answers = await race(range, 'bind-each');
    const got = ports(answers);
    expect(got).toHaveLength(16);
    expect(new Set(got.map((a) => a.port)).size).toBe(16);
    expect(got.filter((a) => a.bind !== 'ok' || a.port < range[0] || a.port > range[1])).toEqual([]);
    expect(answers.filter((a) => 'error' in a).map((a) => ('error' in a ? a.error : ''))).toEqual(
      Array(PROCESSES * ASKS - 16).fill('E_NO_PORT'),
    );
  });
});

/** The first non-internal IPv4 address of this machine, else a non-link-local IPv6 one. */
function lanAddress(): string | null {
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal);
  const v4 = external.find((a) => a!.family === 'IPv4');
  const v6 = external.find((a) => a!.family === 'IPv6' && !a!.address.startsWith('fe80'));
  return (v4 ?? v6)?.address ?? null;
}

function hold(port: number, host: string, ipv6Only: boolean): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ port, host, ipv6Only, exclusive: true }, () => resolve(server));
  });
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const lan = lanAddress();
const HELD_ON = [
  { name: '127.0.0.1 only', host: '127.0.0.1', ipv6Only: false },
  { name: '::1 only', host: '::1', ipv6Only: false },
  { name: '0.0.0.0 only', host: '0.0.0.0', ipv6Only: false },
  { name: ':: v6-only', host: '::', ipv6Only: true },
  ...(lan ? [{ name: `the LAN address ${lan}`, host: lan, ipv6Only: false }] : []),
];

describe('a port held on one address only', () => {
  it.each(HELD_ON)(
    'is not handed out as the preferred port when held on $name',
    async ({ host, ipv6Only }) => {
      const h = home();
      const [port] = (await reserveBlock(1)) as [number];
      const server = await hold(port, host, ipv6Only);
      let got: number | undefined;
      try {
        got = await getPort({ port, home: h });
        expect(got).not.toBe(port);
        for (const address of ['::', '0.0.0.0', '127.0.0.1', '::1']) {
          expect(await bindable(got, address), `${got} bindable on ${address}`).toBe(true);
        }
      } finally {
        await close(server);
        if (got !== undefined) await releasePort(got, { home: h });
      }
    },
  );
});
