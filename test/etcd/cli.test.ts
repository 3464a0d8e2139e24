/**
 * The built CLI on an etcd registry (one member): selecting it, discovery across hosts
 * (ls --all-hosts, env --host, GET /api/ports?host=), events from the watch, copying
 * from SQLite, and a clear E_REGISTRY (exit 1, no fall-back to SQLite) when etcd is
 * unreachable.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAdapters } from '../../src/compose/context.js';
import { createApp } from '../../src/http/app.js';
import { berth, reserveBlock, type Sandbox, sandbox } from '../helpers.js';
import { leasesIn } from '../support/runner-process.js';
import { type Cluster, startCluster } from './cluster.js';

let cluster: Cluster;
let block: number[];
const boxes: Sandbox[] = [];

beforeAll(async () => {
  cluster = await startCluster(1);
  block = await reserveBlock(4);
}, 60_000);

afterEach(() => {
  for (const b of boxes.splice(0)) b.cleanup();
});

afterAll(async () => {
  await cluster?.destroy();
});

let n = 0;
/** A project sandbox whose CLI runs on the etcd registry as `host`. */
function project(host: string, prefix: string, advertise = `10.0.0.${++n}`) {
  const box = sandbox('shop');
  boxes.push(box);
  box.env.BERTH_REGISTRY = cluster.url(prefix);
  box.env.BERTH_HOST = host;
  box.env.BERTH_ADVERTISE = advertise;
  box.writeConfig({
    project: 'shop',
    services: {
      server: { preferred: [block[0]], range: { min: block[0], max: block[1] } },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      db: { preferred: [block[2]], range: { min: block[2], max: block[3] }, requires: ['tcp'] },
    },
  });
  return box;
}

describe('the CLI on etcd', () => {
  it('two hosts lease the same ports; each sees the other at its advertised address', async () => {
    const a = project('a', 'discovery', '10.0.0.1');
    const b = project('b', 'discovery', '10.0.0.2');
    for (const box of [a, b]) {
      const res = await berth(['assign', '--json'], { cwd: box.dir, env: box.env });
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).services.server.port).toBe(block[0]);
    }
    // No lease in the SQLite file: etcd is the registry. (The file may exist: the labels of
    // a checkout's names and berth up's run records are this machine's, kept there.)
    if (existsSync(join(a.home, 'registry.db'))) expect(leasesIn(a.home)).toEqual([]);
    const all = await berth(['ls', '--all-hosts', '--json'], { cwd: a.dir, env: a.env });
    expect(all.code, all.stderr).toBe(0);
    const rows = JSON.parse(all.stdout) as { host: string; service: string; url: string | null }[];
    expect(rows.filter((r) => r.service === 'server').map((r) => [r.host, r.url])).toEqual([
      ['a', `http://localhost:${block[0]}`],
      ['b', `http://10.0.0.2:${block[0]}`],
    ]);
    const env = await berth(['env', '--host', 'b', '--format', 'dotenv'], { cwd: a.dir, env: a.env });
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toContain(`SERVER_URL=http://10.0.0.2:${block[0]}`);
    expect(env.stdout).toContain(`WEBSOCKET_URL=ws://10.0.0.2:${block[0]}`);
    expect(env.stdout).toContain(`DB_PORT=${block[2]}`);
    const none = await berth(['env', '--host', 'nobody'], { cwd: a.dir, env: a.env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('holds no leases');
  }, 60_000);

  it('the daemon answers /api/ports?host= and streams events from the watch, resumable', async () => {
    const a = project('a', 'daemon');
    const b = project('b', 'daemon', '10.9.9.9');
    expect((await berth(['assign'], { cwd: b.dir, env: b.env })).code).toBe(0);
    const saved = { ...process.env };
    Object.assign(process.env, { BERTH_REGISTRY: a.env.BERTH_REGISTRY, BERTH_HOST: 'a' });
    const adapters = await openAdapters({ home: a.home });
    Object.assign(process.env, {
      BERTH_REGISTRY: saved.BERTH_REGISTRY ?? '',
      BERTH_HOST: saved.BERTH_HOST ?? '',
    });
    if (saved.BERTH_REGISTRY === undefined) delete process.env.BERTH_REGISTRY;
    if (saved.BERTH_HOST === undefined) delete process.env.BERTH_HOST;
    const token = 'x'.repeat(64);
    const app = createApp({ adapters, port: 4949, token });
    const get = (url: string, headers: Record<string, string> = {}) =>
      app.handle({
        method: 'GET',
        url,
        headers: { host: 'localhost:4949', authorization: `Bearer ${token}`, ...headers },
        body: null,
      });
    try {
      const res = await get('/api/ports?project=shop&host=b');
      expect(res.status).toBe(200);
      const data = JSON.parse(String(res.body)).data;
      expect(data.server).toBe(block[0]);
      expect(data.urls.websocket).toBe(`ws://10.9.9.9:${block[0]}`);
      // Events: host a's own log, through the mirror's watch.
      const before = adapters.registry.lastEventId();
      expect((await berth(['assign'], { cwd: a.dir, env: a.env })).code).toBe(0);
      const deadline = Date.now() + 5000;
      while (adapters.registry.lastEventId() === before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const events = adapters.registry.eventsSince(before, 100);
      expect(events.map((e) => [e.type, e.service])).toEqual([
        ['assigned', 'server'],
        ['assigned', 'db'],
      ]);
      // Resume after the first: only the second.
      expect(adapters.registry.eventsSince(events[0]!.id, 100).map((e) => e.service)).toEqual(['db']);
      const stream = await get('/api/events', {
        origin: 'http://localhost:4949',
        'last-event-id': String(events[0]!.id),
      });
      expect(stream.status).toBe(200);
      let text = '';
      const body = stream.body as { kind: string; open: (sink: unknown) => () => void };
      const stop = body.open({ write: (chunk: string) => (text += chunk), end: () => {} });
      stop();
      expect(text).toContain(`id: ${events[1]!.id}`);
      expect(text).not.toContain(`id: ${events[0]!.id}\n`);
    } finally {
      app.close();
      adapters.registry.close();
    }
  }, 60_000);

  it('berth registry copy moves reservations and remembered ports from SQLite to etcd', async () => {
    const box = project('a', 'copy');
    const local = { ...box.env };
    delete local.BERTH_REGISTRY;
    expect((await berth(['assign'], { cwd: box.dir, env: local })).code).toBe(0);
    expect((await berth(['release', 'db'], { cwd: box.dir, env: local })).code).toBe(0);
    const copy = await berth(
      ['registry', 'copy', '--from', 'sqlite', '--to', box.env.BERTH_REGISTRY!, '--json'],
      {
        cwd: box.dir,
        env: local,
      },
    );
    expect(copy.code, copy.stderr).toBe(0);
    expect(JSON.parse(copy.stdout)).toMatchObject({ leases: 2, history: 1, skipped: [] });
    const ls = await berth(['ls', '--json'], { cwd: box.dir, env: box.env });
    expect(JSON.parse(ls.stdout).map((l: { service: string }) => l.service)).toEqual(['server', 'websocket']);
    // db had its port last time: it gets it again on etcd.
    const db = await berth(['get', 'db'], { cwd: box.dir, env: box.env });
    expect(db.stdout.trim()).toBe(String(block[2]));
  }, 60_000);

  it('etcd unreachable: E_REGISTRY naming the endpoints, exit 1, no fall-back to SQLite', async () => {
    const box = project('a', 'down');
    const [dead] = await reserveBlock(1);
    box.env.BERTH_REGISTRY = `etcd://127.0.0.1:${dead}`;
    const started = Date.now();
    const res = await berth(['assign', '--json'], { cwd: box.dir, env: box.env, timeoutMs: 30_000 });
    expect(res.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(JSON.parse(res.stdout).error.code).toBe('E_REGISTRY');
    expect(res.stderr).toContain(`127.0.0.1:${dead}`);
    expect(res.stderr).toMatch(/majority of the members/);
    expect(existsSync(join(box.home, 'registry.db'))).toBe(false);
  }, 60_000);
});
