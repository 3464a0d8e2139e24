/**
 * `berth serve` end to end: the built CLI as a daemon with a temp BERTH_HOME,
 * every route over real HTTP, the security refusals, the event stream across
 * processes, and shutdown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth, CLI, close, listen, reserveBlock, type Sandbox, sandbox } from '../helpers.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: {
    success: boolean;
    data: Record<string, unknown> & { leases: Record<string, unknown>[] };
    error: { code: string };
  };
}

let block: number[];
let box: Sandbox;
let daemon: ChildProcess;
let stdout = '';
let port: number;
let token: string;
let tokenUrl: string;

function config(b: number[]) {
  return {
    project: 'shop',
    services: {
      server: { preferred: [b[1]], range: { min: b[1], max: b[3] }, priority: 'high', requires: ['http'] },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      client: { preferred: [b[2]], range: { min: b[1], max: b[3] }, requires: ['http'] },
      database: { preferred: [b[4]], range: { min: b[4], max: b[5] }, requires: ['tcp'] },
    },
  };
}

/** Raw HTTP, so tests control the Host and Origin headers that fetch() would set itself. */
function call(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; auth?: boolean } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...opts.headers };
  if (opts.auth !== false && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        let json: Reply['json'];
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined as never;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call('POST', path, {
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** An event stream client: collects `{ id, type, data }` frames. */
function events(lastEventId?: number) {
  const frames: { id: number; type: string; data: { service: string; port: number } }[] = [];
  let buffer = '';
  const headers: Record<string, string> = { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` };
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  const req = httpRequest({ host: '127.0.0.1', port, path: '/api/events', headers }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const m = /^id: (\d+)\nevent: (\w+)\ndata: (.*)$/m.exec(block);
        if (m) frames.push({ id: Number(m[1]), type: m[2]!, data: JSON.parse(m[3]!) });
        end = buffer.indexOf('\n\n');
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return { frames, close: () => req.destroy() };
}

const run = (args: string[], cwd = box.dir) => berth(args, { cwd, env: box.env });

beforeAll(async () => {
  block = await reserveBlock(6);
  port = block[0]!;
  box = sandbox();
  box.writeConfig(config(block));
  expect((await run(['assign', 'server'])).code).toBe(0);
  daemon = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--no-proxy'], {
    cwd: box.dir,
    env: box.env,
  });
  tokenUrl = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    daemon.stderr!.on('data', (c: Buffer) => {
      stderr += c;
    });
    daemon.stdout!.setEncoding('utf8');
    daemon.stdout!.on('data', (c: string) => {
      stdout += c;
      const url = /Dashboard: (\S+)/.exec(stdout)?.[1];
      if (url) resolve(url);
    });
    daemon.once('exit', (code) => reject(new Error(`berth serve exited with ${code}: ${stderr}`)));
  });
  token = readFileSync(join(box.home, 'token'), 'utf8').trim();
});

afterAll(() => {
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
  box.cleanup();
});

describe('berth serve: start-up', () => {
  it('prints the URL with the token once, and writes daemon.json { pid, port, url } and a 0600 token file', () => {
    expect(tokenUrl).toBe(`http://127.0.0.1:${port}/?token=${token}`);
    expect(stdout.split(token).length - 1).toBe(1);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(box.home, 'token')).mode & 0o777).toBe(0o600);
    const info = JSON.parse(readFileSync(join(box.home, 'daemon.json'), 'utf8'));
    expect(info).toEqual({ pid: daemon.pid, port, url: `http://127.0.0.1:${port}/`, proxyPort: null });
  });

  it('leases its own port like any other (berth ls --all-projects shows it)', async () => {
    const ls = JSON.parse((await run(['ls', '--all-projects', '--json'])).stdout) as {
      port: number;
      pid: number;
    }[];
    expect(ls.find((l) => l.port === port)).toMatchObject({ pid: daemon.pid });
  });

  it('a second berth serve finds the running one, says where it is and exits 0', async () => {
    const second = await run(['serve']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`already running at http://127.0.0.1:${port}/ (pid ${daemon.pid})`);
  });

  it('--host 0.0.0.0 without --unsafe-expose exits 2 and binds nothing', async () => {
    const res = await run(['serve', '--host', '0.0.0.0', '--port', String(block[5])]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--unsafe-expose');
    const probe = await listen(block[5]!, '0.0.0.0');
    await close(probe);
  });
});

describe('berth serve: routes over HTTP', () => {
  it("GET /api/ports answers the seed's shape", async () => {
    const res = await call('GET', '/api/ports?project=shop&env=development');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success: true,
      data: {
        server: block[1],
        websocket: block[1],
        environment: 'development',
        urls: { server: `http://localhost:${block[1]}`, websocket: `ws://localhost:${block[1]}` },
      },
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('GET /api/leases and GET /api/health list the leased services', async () => {
    const leases = await call('GET', '/api/leases');
    expect(leases.status).toBe(200);
    const server = leases.json.data.leases.find((l) => l.service === 'server');
    expect(server).toMatchObject({
      project: 'shop',
      environment: 'development',
      port: block[1],
      state: 'reserved',
    });
    expect(server).toHaveProperty('health');
    const health = await call('GET', '/api/health');
    expect(health.status).toBe(200);
    const services = health.json.data.services as { service: string; status: string }[];
    expect(services.map((s) => s.service).sort()).toEqual(['server', 'websocket']);
  });

  it('POST /api/assign and /api/release work like the CLI', async () => {
    const assigned = await post('/api/assign', {
      project: 'shop',
      service: 'client',
      environment: 'development',
    });
    expect(assigned.status).toBe(200);
    expect(assigned.json.data).toMatchObject({ services: { client: { port: block[2] } } });
    const ls = JSON.parse((await run(['ls', '--json'])).stdout) as { service: string; port: number }[];
    expect(ls.find((l) => l.service === 'client')?.port).toBe(block[2]);
    const released = await post('/api/release', {
      project: 'shop',
      service: 'client',
      environment: 'development',
    });
    expect(released.json.data).toMatchObject({ released: [{ service: 'client', port: block[2] }] });
    const unknown = await post('/api/assign', { project: 'shop', service: 'nope' });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'E_UNKNOWN_SERVICE']);
  });

  it('the event stream delivers `assigned` when berth assign runs in another process, and resumes after Last-Event-ID', async () => {
    const live = events();
    await expect.poll(async () => (await call('GET', '/api/status')).json.data.streams).toBe(1);
    expect((await run(['assign', 'database'])).code).toBe(0);
    await expect
      .poll(() => live.frames.find((f) => f.type === 'assigned' && f.data.service === 'database'))
      .toBeDefined();
    const first = live.frames.find((f) => f.data.service === 'database')!;
    expect(first.data.port).toBe(block[4]);
    expect((await run(['release', 'database'])).code).toBe(0);
    await expect.poll(() => live.frames.some((f) => f.type === 'released')).toBe(true);
    live.close();

    const resumed = events(first.id);
    await expect.poll(() => resumed.frames.length).toBeGreaterThan(0);
    expect(resumed.frames[0]!.id).toBeGreaterThan(first.id);
    expect(resumed.frames.map((f) => f.type)).toEqual(['released']);
    resumed.close();
  });

  it('serves the dashboard, and /?token= sets an HttpOnly SameSite=Strict cookie that opens the API', async () => {
    const page = await call('GET', '/', { auth: false });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const login = await call('GET', `/?token=${token}`, { auth: false });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const cookie = login.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const viaCookie = await call('GET', '/api/leases', {
      auth: false,
      headers: { cookie: cookie.split(';')[0]! },
    });
    expect(viaCookie.status).toBe(200);
  });

  it('answers 409 E_AMBIGUOUS listing the folders when two checkouts share a name', async () => {
    const other = join(dirname(box.dir), 'copy', 'shop');
    mkdirSync(other, { recursive: true });
    const b = block;
    writeFileSync(
      join(other, 'berth.config.json'),
      JSON.stringify({ project: 'shop', services: { api: { preferred: [b[3]] } } }),
    );
    expect((await run(['assign', '--env', 'twin'], other)).code).toBe(0);
    expect((await run(['assign', 'database', '--env', 'twin'])).code).toBe(0);
    const res = await call('GET', '/api/ports?project=shop&env=twin');
    expect([res.status, res.json.error.code]).toEqual([409, 'E_AMBIGUOUS']);
    expect(res.text).toContain(other);
    expect((await run(['release', '--all', '--env', 'twin'], other)).code).toBe(0);
    expect((await run(['release', '--all', '--env', 'twin'])).code).toBe(0);
  });
});

describe('berth serve: refusals over HTTP', () => {
  it('refuses Host: evil.example, a foreign Origin on a POST, no token and a wrong token of the same length', async () => {
    expect((await call('GET', '/api/leases', { headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await call('GET', '/', { headers: { host: `evil.example:${port}` } })).status).toBe(403);
    const origin = await post('/api/assign', { project: 'shop' }, { origin: `http://1.2.3.4:${port}` });
    expect([origin.status, origin.json.error.code]).toEqual([403, 'E_REFUSED']);
    expect((await call('GET', '/api/ports', { auth: false })).status).toBe(403);
    const wrong = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
    expect((await call('GET', '/api/ports', { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(
      403,
    );
  });

  it('refuses a text/plain POST with 415 and an oversized body with 413, and never sends CORS headers', async () => {
    const plain = await call('POST', '/api/assign', {
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(plain.status).toBe(415);
    // Just over the 16 KiB cap: small enough that the whole upload is sent before the refusal.
    const big = await post('/api/assign', { project: 'x'.repeat(16 * 1024 + 10) });
    expect([big.status, big.json.error.code]).toEqual([413, 'E_TOO_LARGE']);
    const replies = [
      plain,
      await call('GET', '/api/ports'),
      await call('GET', '/'),
      await call('OPTIONS', '/api/ports'),
    ];
    for (const r of replies) {
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
    expect(replies[3]!.status).toBe(405);
  });
});

describe('berth serve: shutdown', () => {
  it('on SIGTERM exits 0, removes daemon.json and releases its port', async () => {
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(box.home, 'daemon.json'))).toBe(false);
    const ls = JSON.parse((await run(['ls', '--all-projects', '--json'])).stdout) as { port: number }[];
    expect(ls.some((l) => l.port === port)).toBe(false);
    const server = await listen(port);
    await close(server);
  });
});
