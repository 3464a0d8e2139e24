/**
 * A host of 10,000 live leases and another of 500 on one stock etcd member: more keys
 * than one gRPC answer carries (the load pages) and than one transaction may hold (the
 * seeding commits in parts). getPort(), getPort({ port }) and `berth assign` answer
 * correctly on both hosts, from fresh processes that load the whole host.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lease } from '../contract/registry.js';
import { berth, reserveBlock, type Sandbox, sandbox } from '../helpers.js';
import { type Cluster, startCluster } from './cluster.js';
import { adhoc, liveOwner, openHost } from './open-host.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const GET_PORT = new URL('../../dist/get-port/index.js', import.meta.url).href;

let cluster: Cluster;
let holder: ReturnType<typeof liveOwner>;
let block: number[];
/** Ports leased on each host before the tests. */
const taken = { a: new Set<number>(), b: new Set<number>() };
const boxes: Sandbox[] = [];

/** Leases `ports` on `host` for the live holder, 1,000 per request (each commits in parts). */
async function seed(host: 'a' | 'b', ports: number[], services: number[]): Promise<void> {
  const r = await openHost(cluster.url('scale'), host);
  try {
    for (let i = 0; i < ports.length; i += 1000) {
      await r.transaction((tx) => {
        for (const port of ports.slice(i, i + 1000)) tx.insert(adhoc(port, holder.owner));
      });
    }
    // Service leases too: a checkout's, held by nobody (berth assign's reservations).
    await r.transaction((tx) => {
      for (const [i, port] of services.entries()) {
        tx.insert(lease({ port, dir: `/w/other-${i}`, service: 'server', project: 'other' }));
      }
    });
    for (const p of [...ports, ...services]) taken[host].add(p);
    expect(r.allLeases()).toHaveLength(ports.length + services.length);
  } finally {
    r.close();
  }
}

beforeAll(async () => {
  cluster = await startCluster(1);
  holder = liveOwner();
  block = await reserveBlock(17);
  // Host a: the default pool (20000-29999) taken but for its last 500 ports, 1,000 more
  // above it, and three of the six services' preferred ports.
  const pool = Array.from({ length: 9500 }, (_, i) => 20000 + i);
  const above = Array.from({ length: 497 }, (_, i) => 40000 + i);
  await seed('a', [...pool, ...above], block.slice(0, 3));
  // Host b: 500 pool ports.
  await seed(
    'b',
    Array.from({ length: 500 }, (_, i) => 20000 + i * 2),
    [],
  );
}, 300_000);

afterAll(async () => {
  holder?.child.kill('SIGKILL');
  for (const b of boxes.splice(0)) b.cleanup();
  await cluster?.destroy();
});

/** getPort() three ways in a fresh process on `host`: zero-config, a taken port, a free port. */
function getPorts(host: string, takenPort: number, freePort: number): Promise<Record<string, number>> {
  const script = `
    const { getPort } = await import(${JSON.stringify(DIST)});
    const started = performance.now();
    const any = await getPort();
    const opened = performance.now() - started;
    const asked = await getPort({ port: ${takenPort} });
    const free = await getPort({ port: ${freePort} });
    // berth-ports/get-port, get-port's drop-in: the taken port and the free one, in that order.
    const { default: dropIn } = await import(${JSON.stringify(GET_PORT)});
    const dropInPort = await dropIn({ port: [${takenPort}, ${freePort} + 1] });
    console.log(JSON.stringify({ any, asked, free, opened, dropInPort }));
    process.exit(0);`;
  const env = { ...process.env, BERTH_REGISTRY: cluster.url('scale'), BERTH_HOST: host };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { env, timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

describe('10,000 live leases on host a, 500 on host b', () => {
  it('getPort(), getPort({ port }) of a taken and of a free port, and berth-ports/get-port, answer on both hosts', async () => {
    const a = await getPorts('a', 20100, block[15]!);
    expect(taken.a.has(a.any!)).toBe(false);
    expect(a.any).toBeGreaterThanOrEqual(29500);
    expect(a.any).toBeLessThanOrEqual(29999);
    // A taken port is passed over (as get-port passes over a busy one); a free one is given.
    expect(taken.a.has(a.asked!)).toBe(false);
    expect(a.asked).not.toBe(a.any);
    expect(a.free).toBe(block[15]);
    expect(a.dropInPort).toBe(block[16]);
    const b = await getPorts('b', 20100, block[15]!);
    expect(taken.b.has(b.any!)).toBe(false);
    expect(taken.b.has(b.asked!)).toBe(false);
    expect(b.free).toBe(block[15]);
    // 20100 is taken on host b as well.
    expect(b.dropInPort).toBe(block[16]);
    process.stdout.write(
      `scale: first getPort() with the host loaded: a ${a.opened!.toFixed(0)} ms, b ${b.opened!.toFixed(0)} ms\n`,
    );
  }, 120_000);

  it('berth assign of a six-service config answers on both hosts, around what each host holds', async () => {
    const services = Object.fromEntries(
      ['web', 'api', 'auth', 'db', 'cache', 'queue'].map((name, i) => [
        name,
        { preferred: [block[i]], range: { min: block[0], max: block[14] } },
      ]),
    );
    const answers: Record<string, Record<string, number>> = {};
    for (const host of ['a', 'b'] as const) {
      const box = sandbox('shop');
      boxes.push(box);
      Object.assign(box.env, { BERTH_REGISTRY: cluster.url('scale'), BERTH_HOST: host });
      box.writeConfig({ project: 'shop', services });
      const res = await berth(['assign', '--json'], { cwd: box.dir, env: box.env, timeoutMs: 60_000 });
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout).services as Record<string, { port: number }>;
      answers[host] = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.port]));
      const ports = Object.values(answers[host]!);
      expect(new Set(ports).size).toBe(6);
      for (const p of ports) expect(taken[host].has(p)).toBe(false);
    }
    // Host b holds none of the preferred ports: each service gets its own.
    expect(answers.b).toEqual({
      web: block[0],
      api: block[1],
      auth: block[2],
      db: block[3],
      cache: block[4],
      queue: block[5],
    });
    // Host a holds the first three preferred ports: every service lands in the range, around them.
    for (const p of Object.values(answers.a!)) {
      expect(p).toBeGreaterThanOrEqual(block[3]!);
      expect(p).toBeLessThanOrEqual(block[14]!);
    }
  }, 120_000);
});
