import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdapters } from '../compose/context.js';
import { createManagerFor } from '../compose/manager.js';
import { loadConfig } from '../config/load.js';
import type { KernelFacts, Probe } from '../core/facts.js';
import { createApp, type DaemonApp } from './app.js';
import { MAX_EVENT_STREAMS } from './events.js';
import type { CheckResult } from './health.js';
import type { HttpResponse, StreamBody } from './message.js';

/** The daemon's port as the app knows it; nothing binds it in these tests. */
const PORT = 4949;
const HOST = `127.0.0.1:${PORT}`;
const TOKEN = 'ab'.repeat(32);

/** A project's services on ports the fake kernel and probe control (no socket is opened). */
function services(base: number) {
  return {
    server: {
      preferred: [base, base + 1],
      range: { min: base, max: base + 9 },
      priority: 'high',
      requires: ['http'],
    },
    websocket: { inheritFrom: 'server', requires: ['websocket'] },
    client: { preferred: [base + 2], range: { min: base, max: base + 9 }, requires: ['http'] },
    database: { preferred: [base + 20], range: { min: base + 20, max: base + 29 }, requires: ['tcp'] },
  };
}

type Fixture = ReturnType<typeof fixture>;
let current: Fixture | null = null;

afterEach(() => {
  current?.cleanup();
  current = null;
});

function fixture(options: { maxEventStreams?: number } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'berth-http-'));
  const busy = new Set<number>();
  const kernel: KernelFacts = {
    listeners: () => [],
    listeningPorts: () => busy,
    refresh: async () => {},
    ephemeralRange: () => null,
    excludedRanges: () => [],
  };
  const probe: Probe = { check: async (port) => (busy.has(port) ? 'busy' : 'free') };
  const adapters = createAdapters({ home: join(root, 'home'), adapters: { kernel, probe } });
  const healthByPort = new Map<number, CheckResult>();
  const app: DaemonApp = createApp({
    adapters,
    port: PORT,
    token: TOKEN,
    ...options,
    // Nothing listens unless a test says otherwise, as checkHealth answers then.
    check: async (_spec, port) =>
      healthByPort.get(port) ?? {
        status: 'not-running',
        reason: 'connection refused on 127.0.0.1 and ::1',
        latencyMs: 1,
      },
  });
  const responses: HttpResponse[] = [];
  const f = {
    root,
    busy,
    adapters,
    app,
    healthByPort,
    responses,
    /** Writes a project config in `root/<folder>` and returns its real path. */
    project(folder: string, config: Record<string, unknown>) {
      const dir = join(root, folder);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'berth.config.json'), JSON.stringify(config));
      return realpathSync(dir);
    },
    /** Assigns every service of the project in `dir`, as the CLI would in another process. */
    async assign(dir: string, environment = 'development') {
      const { config } = await loadConfig({ cwd: dir, environment });
      return createManagerFor(config, adapters).assignAll();
    },
    async request(
      method: string,
      url: string,
      opts: { headers?: Record<string, string>; body?: string | Buffer; token?: string | null } = {},
    ) {
      const headers: Record<string, string> = { host: HOST, ...opts.headers };
      const token = opts.token === undefined ? TOKEN : opts.token;
      if (token !== null && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
      const body = opts.body === undefined ? null : Buffer.from(opts.body);
      const res = await app.handle({ method, url, headers, body });
      responses.push(res);
      return res;
    },
    get: (url: string, headers?: Record<string, string>) => f.request('GET', url, headers ? { headers } : {}),
    post: (url: string, json: unknown, headers: Record<string, string> = {}) =>
      f.request('POST', url, {
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(json),
      }),
    cleanup() {
      // No response, whatever its route or status, may carry a CORS grant.
      for (const r of responses) {
        expect(Object.keys(r.headers).filter((h) => h.toLowerCase().startsWith('access-control-'))).toEqual(
          [],
        );
      }
      app.close();
      adapters.registry.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  current = f;
  return f;
}

function json(res: HttpResponse) {
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(res.body.toString()) as {
    success: boolean;
    data: Record<string, unknown> & { leases: Record<string, unknown>[] };
    error: { code: string; message: string; data: Record<string, unknown>; details: string[] };
  };
}

/** Opens an event stream and collects its frames. */
function collect(res: HttpResponse) {
  expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  const chunks: string[] = [];
  const stop = (res.body as StreamBody).open({ write: (c) => chunks.push(c), end: () => {} });
  const frames = () =>
    [...chunks.join('').matchAll(/^id: (\d+)\nevent: (\w+)\ndata: (.*)$/gm)].map((m) => ({
      id: Number(m[1]),
      type: m[2],
      data: JSON.parse(m[3]!) as { service: string; port: number; type: string },
    }));
  return { chunks, stop, frames };
}

describe('GET /api/ports', () => {
  it("answers exactly the seed's shape for a project name, the same as pm.ports()", async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41000) });
    await f.assign(dir);
    const res = await f.get('/api/ports?project=shop&env=development');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const body = json(res);
    expect(body).toEqual({
      success: true,
      data: {
        server: 41000,
        websocket: 41000,
        client: 41002,
        database: 41020,
        environment: 'development',
        urls: {
          server: 'http://localhost:41000',
          websocket: 'ws://localhost:41000',
          client: 'http://localhost:41002',
          database: 'tcp://localhost:41020',
        },
      },
    });
    const { config } = await loadConfig({ cwd: dir, environment: 'development' });
    expect(body.data).toEqual(createManagerFor(config, f.adapters).ports());
    // Declaration order, as the seed lists them.
    expect(Object.keys(body.data)).toEqual([
      'server',
      'websocket',
      'client',
      'database',
      'environment',
      'urls',
    ]);
  });

  it('takes a folder as the project, and defaults to the only checkout when none is named', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41100) });
    await f.assign(dir);
    expect(json(await f.get(`/api/ports?project=${encodeURIComponent(dir)}`)).data.server).toBe(41100);
    expect(json(await f.get('/api/ports')).data.server).toBe(41100);
  });

  it('answers an environment without leases with the empty seed shape', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41150) });
    await f.assign(dir);
    expect(json(await f.get('/api/ports?project=shop&env=test')).data).toEqual({
      environment: 'test',
      urls: {},
    });
  });

  it('answers 409 E_AMBIGUOUS listing the folders when two checkouts share the name, and dir= picks one', async () => {
    const f = fixture();
    const a = f.project('a/shop', { project: 'shop', services: services(41200) });
    const b = f.project('b/shop', { project: 'shop', services: services(41300) });
    await f.assign(a);
    await f.assign(b);
    const res = await f.get('/api/ports?project=shop');
    expect(res.status).toBe(409);
    const body = json(res);
    expect(body.success).toBe(false);
    expect(body.error.code).toBe('E_AMBIGUOUS');
    expect(body.error.data.folders).toEqual([a, b].sort());
    expect(body.error.message).toContain(a);
    expect(body.error.message).toContain('dir=');
    const picked = await f.get(`/api/ports?project=shop&dir=${encodeURIComponent(b)}`);
    expect(json(picked).data.server).toBe(41300);
  });

  it('answers 404 for a project nobody leased under and 400 for a relative dir', async () => {
    const f = fixture();
    const missing = await f.get('/api/ports?project=nope');
    expect(missing.status).toBe(404);
    expect(json(missing).error.code).toBe('E_NOT_FOUND');
    const relative = await f.get('/api/ports?project=shop&dir=shop');
    expect(relative.status).toBe(400);
    expect(json(relative).error.code).toBe('E_USAGE');
  });

  it('serves from cache until the event log moves, then shows the change', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41400) });
    await f.assign(dir);
    const first = await f.get('/api/ports?project=shop');
    expect(await f.get('/api/ports?project=shop')).toBe(first);
    // Another process releases the client: an event, so the next answer is rebuilt.
    const { config } = await loadConfig({ cwd: dir, environment: 'development' });
    await createManagerFor(config, f.adapters).release('client');
    f.app.hub.sync();
    const after = json(await f.get('/api/ports?project=shop'));
    expect(after.data.client).toBeUndefined();
    expect(after.data.server).toBe(41400);
  });
});

describe('GET /api/leases and /api/health', () => {
  it('lists every lease with project, environment, service, port, state, pid, URL, range and health', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41500) });
    await f.assign(dir);
    f.busy.add(41500);
    const body = json(await f.get('/api/leases'));
    expect(body.data.lastEventId).toBeGreaterThan(0);
    const server = body.data.leases.find((l) => l.service === 'server');
    expect(server).toMatchObject({
      project: 'shop',
      dir,
      environment: 'development',
      kind: 'service',
      port: 41500,
      url: 'http://localhost:41500',
      state: 'bound',
      pid: null,
      range: { min: 41500, max: 41509 },
      preferred: [41500, 41501],
      health: { status: 'unknown' },
    });
    expect(body.data.leases.find((l) => l.service === 'client')).toMatchObject({ state: 'reserved' });
    expect(body.data.leases.map((l) => l.service).sort()).toEqual([
      'client',
      'database',
      'server',
      'websocket',
    ]);
  });

  it("shows what berth up runs: each service's run state, pid and restarts, and orphans of a killed berth up", async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41700) });
    await f.assign(dir);
    const row = {
      project: 'shop',
      dir,
      environment: 'development',
      unit: 'server',
      phase: 'ready' as const,
      group: { pid: 4321, pgid: 4321, startTime: null },
      restarts: 2,
      exitCode: 1,
      runner: { pid: process.pid, startTime: null },
      stopSignal: 'SIGTERM' as const,
      stopTimeoutMs: 10_000,
      updatedAt: 1,
    };
    f.adapters.runs.put({ ...row, service: 'server' });
    f.adapters.runs.put({ ...row, service: 'websocket' });
    // A dead runner (pid 0x7fffffff does not exist): its service runs on as an orphan.
    f.adapters.runs.put({
      ...row,
      service: 'client',
      unit: 'client',
      phase: 'restarting',
      group: null,
      restarts: 0,
      runner: { pid: 2_147_483_647, startTime: null },
    });
    const leases = json(await f.get('/api/leases')).data.leases;
    const run = (service: string) => leases.find((l) => l.service === service)!.run;
    const mine = {
      state: 'ready',
      pid: 4321,
      restarts: 2,
      unit: 'server',
      runnerPid: process.pid,
      orphaned: false,
    };
    expect(run('server')).toEqual(mine);
    expect(run('websocket')).toEqual(mine);
    expect(run('client')).toMatchObject({ state: 'restarting', pid: null, orphaned: true });
    expect(run('database')).toBeNull();
    const health = json(await f.get('/api/health')).data as unknown as {
      services: { service: string; run: unknown }[];
    };
    expect(health.services.find((s) => s.service === 'server')!.run).toEqual(mine);
    f.adapters.runs.close();
  });

  it('reports health after a round, and records healthy/unhealthy transitions as events', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41600) });
    await f.assign(dir);
    f.healthByPort.set(41600, {
      status: 'unhealthy',
      reason: 'GET / answered 503 on 127.0.0.1',
      latencyMs: 2,
    });
    await f.app.health.tick();
    const before = json(await f.get('/api/health')).data as unknown as {
      services: { service: string; status: string; reason: string | null }[];
    };
    expect(before.services.find((s) => s.service === 'server')).toMatchObject({
      status: 'unhealthy',
      reason: 'GET / answered 503 on 127.0.0.1',
    });
    const lastBefore = f.adapters.registry.lastEventId();
    f.healthByPort.set(41600, { status: 'healthy', reason: null, latencyMs: 7 });
    await f.app.health.tick();
    const after = json(await f.get('/api/health')).data as unknown as {
      services: { service: string; status: string; latencyMs: number; history: (number | null)[] }[];
    };
    expect(after.services.find((s) => s.service === 'server')).toMatchObject({
      status: 'healthy',
      latencyMs: 7,
      history: [null, 7],
    });
    const events = f.adapters.registry.eventsSince(lastBefore, 10);
    expect(events.map((e) => [e.type, e.service]).sort()).toEqual([
      ['healthy', 'server'],
      ['healthy', 'websocket'],
    ]);
    // No change, no event.
    await f.app.health.tick();
    expect(f.adapters.registry.eventsSince(lastBefore, 10)).toHaveLength(2);
  });

  it('reports a reserved service nothing listens on as not-running, not unhealthy, in /api/health and /api/leases', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41650) });
    await f.assign(dir);
    const first = f.adapters.registry.lastEventId();
    await f.app.health.tick();
    const notRunning = {
      status: 'not-running',
      reason: 'connection refused on 127.0.0.1 and ::1',
      history: [],
    };
    const health = json(await f.get('/api/health')).data as unknown as { services: { service: string }[] };
    expect(health.services.find((s) => s.service === 'server')).toMatchObject(notRunning);
    const leases = json(await f.get('/api/leases')).data.leases;
    expect(leases.find((l) => l.service === 'database')).toMatchObject({
      state: 'reserved',
      health: notRunning,
    });
    // Starting is an event; stopping is a state, recorded as none (and no red mark in the sparkline).
    f.healthByPort.set(41650, { status: 'healthy', reason: null, latencyMs: 4 });
    await f.app.health.tick();
    f.healthByPort.delete(41650);
    await f.app.health.tick();
    const types = f.adapters.registry.eventsSince(first, 10).map((e) => [e.type, e.service]);
    expect(types.sort()).toEqual([
      ['healthy', 'server'],
      ['healthy', 'websocket'],
    ]);
    const stopped = json(await f.get('/api/health')).data as unknown as { services: { service: string }[] };
    expect(stopped.services.find((s) => s.service === 'server')).toMatchObject({
      status: 'not-running',
      history: [4],
    });
  });
});

describe('POST /api/assign and /api/release', () => {
  it('assigns a service through the core and releases it again', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41700) });
    const res = await f.post('/api/assign', { project: dir, service: 'client', environment: 'development' });
    expect(res.status).toBe(200);
    const body = json(res);
    expect(body.data).toMatchObject({
      project: 'shop',
      environment: 'development',
      services: { client: { port: 41702 } },
    });
    expect(json(await f.get('/api/ports?project=shop')).data.client).toBe(41702);
    const released = await f.post('/api/release', {
      project: 'shop',
      service: 'client',
      environment: 'development',
    });
    expect(json(released).data).toEqual({
      project: 'shop',
      environment: 'development',
      released: [{ service: 'client', port: 41702 }],
    });
    expect(f.adapters.registry.allLeases()).toEqual([]);
  });

  it('assigns every service without "service", and releases them all without it', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41750) });
    json(await f.post('/api/assign', { project: dir }));
    expect(f.adapters.registry.allLeases()).toHaveLength(4);
    json(await f.post('/api/release', { project: 'shop' }));
    expect(f.adapters.registry.allLeases()).toEqual([]);
  });

  it('answers 404 for an unknown service, 400 for bad fields or JSON, 409 for a held port under strict', async () => {
    const f = fixture();
    const dir = f.project('shop', {
      project: 'shop',
      strategy: 'strict',
      services: { api: { preferred: [41800] } },
    });
    const unknown = await f.post('/api/assign', { project: dir, service: 'nope' });
    expect([unknown.status, json(unknown).error.code]).toEqual([404, 'E_UNKNOWN_SERVICE']);
    const missing = await f.post('/api/assign', { service: 'api' });
    expect([missing.status, json(missing).error.code]).toEqual([400, 'E_USAGE']);
    expect(json(missing).error.message).toContain('"project" is missing');
    const extra = await f.post('/api/assign', { project: dir, servce: 'api' });
    expect([extra.status, json(extra).error.message]).toEqual([400, expect.stringContaining('"servce"')]);
    const wrongType = await f.post('/api/assign', { project: dir, service: 3 });
    expect(wrongType.status).toBe(400);
    const badJson = await f.request('POST', '/api/assign', {
      headers: { 'content-type': 'application/json' },
      body: '{"project":',
    });
    expect([badJson.status, json(badJson).error.code]).toEqual([400, 'E_USAGE']);
    f.busy.add(41800);
    const held = await f.post('/api/assign', { project: dir, service: 'api' });
    expect([held.status, json(held).error.code]).toEqual([409, 'E_PORT_HELD']);
  });

  it('answers 422 E_CONFIG for a folder whose config is broken', async () => {
    const f = fixture();
    const dir = f.project('broken', { project: 'broken', services: { api: { preferred: [0] } } });
    const res = await f.post('/api/assign', { project: dir });
    expect([res.status, json(res).error.code]).toEqual([422, 'E_CONFIG']);
    // The one error shape: every problem in `details`, beside `data`, as `--json` prints it.
    expect(json(res).error).toMatchObject({
      data: expect.any(Object),
      details: [expect.stringContaining('preferred')],
    });
  });
});

describe('GET /api/events', () => {
  it('streams lease events with the registry id, and resumes after Last-Event-ID with later events only', async () => {
    const f = fixture();
    const dir = f.project('shop', { project: 'shop', services: services(41900) });
    const live = collect(await f.get('/api/events'));
    await f.post('/api/assign', { project: dir, service: 'server' });
    const first = live.frames();
    expect(first.map((e) => [e.type, e.data.service, e.data.port])).toEqual([['assigned', 'server', 41900]]);
    expect(first[0]!.data.type).toBe('assigned');
    await f.post('/api/assign', { project: dir, service: 'client' });
    await f.post('/api/release', { project: dir, service: 'client' });
    const all = live.frames();
    expect(all.map((e) => e.type)).toEqual(['assigned', 'assigned', 'released']);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => a - b));
    live.stop();

    const resumed = collect(await f.get('/api/events', { 'last-event-id': String(first[0]!.id) }));
    expect(resumed.frames().map((e) => e.id)).toEqual(all.slice(1).map((e) => e.id));
    const bySince = collect(await f.get(`/api/events?since=${all[1]!.id}`));
    expect(bySince.frames().map((e) => e.type)).toEqual(['released']);
    resumed.stop();
    bySince.stop();
  });

  it('caps open streams: one past the cap is 503 E_BUSY with Retry-After, and a closed stream frees its slot', async () => {
    const f = fixture({ maxEventStreams: 2 });
    const first = collect(await f.get('/api/events'));
    const second = collect(await f.get('/api/events'));
    const refused = await f.get('/api/events');
    expect([refused.status, refused.headers['retry-after']]).toEqual([503, '2']);
    expect(json(refused)).toEqual({
      success: false,
      error: {
        code: 'E_BUSY',
        message: expect.stringMatching(/^2 event streams are open, .* then retry\.$/),
        data: { streams: 2, maxStreams: 2 },
        details: [],
      },
    });
    expect(json(await f.get('/api/status')).data).toMatchObject({ streams: 2 });
    first.stop();
    const third = collect(await f.get('/api/events'));
    expect((await f.get('/api/events')).status).toBe(503);
    second.stop();
    third.stop();
    expect(json(await f.get('/api/status')).data).toMatchObject({ streams: 0 });
  });

  it('serves 64 streams at once by default', async () => {
    const f = fixture();
    expect(MAX_EVENT_STREAMS).toBe(64);
    expect(f.app.hub.maxStreams).toBe(MAX_EVENT_STREAMS);
    const open = [];
    for (let i = 0; i < 64; i++) open.push(collect(await f.get('/api/events')));
    expect((await f.get('/api/events')).status).toBe(503);
    for (const s of open) s.stop();
  });

  it('refuses a malformed Last-Event-ID with 400', async () => {
    const f = fixture();
    const res = await f.get('/api/events', { 'last-event-id': 'abc' });
    expect([res.status, json(res).error.code]).toEqual([400, 'E_USAGE']);
  });
});

describe('routes and the dashboard', () => {
  it('serves the dashboard with a strict CSP and its script as a separate file', async () => {
    const f = fixture();
    const page = await f.get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const html = page.body.toString();
    expect(html).toContain('<script src="/dashboard.js" defer></script>');
    expect(html).not.toMatch(/<script>[^<]/);
    expect(html).not.toContain(TOKEN);
    expect((await f.get('/dashboard.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await f.get('/dashboard.css')).status).toBe(200);
  });

  it('/?token= sets an HttpOnly SameSite=Strict cookie and redirects to /; the cookie then opens the API', async () => {
    const f = fixture();
    const res = await f.get(`/?token=${TOKEN}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const cookie = res.headers['set-cookie']!;
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const pair = cookie.split(';')[0]!;
    const viaCookie = await f.request('GET', '/api/leases', {
      token: null,
      headers: { cookie: `other=1; ${pair}` },
    });
    expect(viaCookie.status).toBe(200);
  });

  it('answers 404 for unknown paths, 405 for wrong methods, and reports its status', async () => {
    const f = fixture();
    expect((await f.get('/nope')).status).toBe(404);
    const api = await f.get('/api/nope');
    expect([api.status, json(api).error.code]).toEqual([404, 'E_NOT_FOUND']);
    expect((await f.get('/api/__proto__')).status).toBe(404);
    expect((await f.get('/api/toString')).status).toBe(404);
    const del = await f.request('DELETE', '/api/leases');
    expect([del.status, json(del).error.code, del.headers.allow]).toEqual([405, 'E_METHOD', 'GET, HEAD']);
    const getAssign = await f.get('/api/assign');
    expect([getAssign.status, getAssign.headers.allow]).toEqual([405, 'POST']);
    const status = json(await f.get('/api/status'));
    expect(status.data).toMatchObject({ port: PORT, streams: 0 });
  });
});
