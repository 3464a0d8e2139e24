/**
 * berth's proxy from outside, as a user drives it: two projects and a second
 * checkout (a git worktree) of one, each with two services run by `berth up`,
 * behind one `berth serve`. Node's resolver does not send *.localhost to
 * loopback here, so requests go to 127.0.0.1 with the Host header a browser
 * would send (test/e2e/proxy-browser.test.ts uses a real browser).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { berth, CLI, ROOT, reserveBlock, type Sandbox, sandbox, waitFor } from '../helpers.js';

const FIXTURE = join(ROOT, 'test/fixtures/named-service.cjs');
const WS_MODULE = createRequire(import.meta.url).resolve('ws');

let box: Sandbox;
let block: number[];
let proxyPort: number;
let daemon: ChildProcess;
let token: string;
const stacks = new Map<string, ChildProcess>();
let shop: string;
let worktree: string;
let market: string;

function config(project: string, range: { min: number; max: number }) {
  const service = (name: string) => ({
    range,
    command: [process.execPath, FIXTURE],
    env: { SERVICE_NAME: name, WS_MODULE },
  });
  return {
    project,
    services: {
      web: service('web'),
      api: service('api'),
      websocket: { inheritFrom: 'api', requires: ['websocket'] },
    },
  };
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
    cwd,
    stdio: 'pipe',
  });

/** Starts `berth up` in `dir` and resolves once every service is ready. */
function up(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'up'], {
    cwd: dir,
    env: box.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stacks.set(dir, child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => {
      err += c;
      if (err.includes('every service is ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`berth up in ${dir} exited with ${code}: ${err}`)));
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request to the proxy with `host` as the Host header. */
function viaProxy(
  host: string,
  path = '/',
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        path,
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const named = (name: string) => `${name}:${proxyPort}`;

beforeAll(async () => {
  block = await reserveBlock(10);
  proxyPort = block[1]!;
  box = sandbox('shop');
  shop = realpathSync(box.dir);
  writeFileSync(
    join(shop, 'berth.config.json'),
    JSON.stringify(config('shop', { min: block[2]!, max: block[6]! })),
  );
  git(shop, 'init', '-q', '-b', 'main');
  git(shop, 'add', '.');
  git(shop, 'commit', '-q', '-m', 'shop');
  worktree = join(shop, '..', 'shop-feature');
  git(shop, 'worktree', 'add', '-q', '-b', 'feature/x', worktree);
  worktree = realpathSync(worktree);
  market = join(shop, '..', 'market');
  mkdirSync(market);
  writeFileSync(
    join(market, 'berth.config.json'),
    JSON.stringify(config('market', { min: block[7]!, max: block[9]! })),
  );
  daemon = spawn(
    process.execPath,
    [CLI, 'serve', '--port', String(block[0]), '--proxy-port', String(proxyPort)],
    {
      cwd: shop,
      env: box.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    daemon.stdout!.setEncoding('utf8');
    daemon.stdout!.on('data', (c: string) => {
      out += c;
      if (out.includes('Names:')) resolve();
    });
    daemon.once('exit', (code) => reject(new Error(`berth serve exited with ${code}`)));
  });
  token = readFileSync(join(box.home, 'token'), 'utf8').trim();
  await Promise.all([up(shop), up(worktree), up(market)]);
}, 60_000);

afterAll(async () => {
  for (const child of stacks.values()) if (child.exitCode === null) child.kill('SIGINT');
  await Promise.all(
    [...stacks.values()].map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
  box?.cleanup();
});

describe('berth serve: the proxy routes names', () => {
  it('sends every name to its own service: two projects, a second checkout, the websocket name on its target', async () => {
    const expected: [string, string][] = [
      ['web.shop.localhost', `web ${shop}`],
      ['api.shop.localhost', `api ${shop}`],
      ['websocket.shop.localhost', `api ${shop}`],
      ['web.feature-x.shop.localhost', `web ${worktree}`],
      ['api.feature-x.shop.localhost', `api ${worktree}`],
      ['web.market.localhost', `web ${market}`],
      ['API.Market.localhost', `api ${market}`],
    ];
    for (const [host, body] of expected) {
      const res = await viaProxy(named(host));
      expect({ host, status: res.status, body: res.body.toString() }).toEqual({ host, status: 200, body });
    }
  });

  it('passes the Host as sent and adds X-Forwarded-For, -Host, -Proto; keeps the connection alive', async () => {
    const res = await viaProxy(named('web.shop.localhost'), '/headers', {
      headers: { 'x-forwarded-for': '10.1.2.3' },
    });
    const seen = JSON.parse(res.body.toString()) as Record<string, string>;
    expect(seen.host).toBe(named('web.shop.localhost'));
    expect(seen['x-forwarded-for']).toBe('10.1.2.3, 127.0.0.1');
    expect(seen['x-forwarded-host']).toBe(named('web.shop.localhost'));
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(res.headers.connection).toBe('keep-alive');
  });

  it('never leads to the daemon: a name reaches its service, even on /api paths, and localhost lists names', async () => {
    const res = await viaProxy(named('web.shop.localhost'), '/api/leases', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.body.toString()).toBe(`web ${shop}`);
    const index = await viaProxy(`localhost:${proxyPort}`, '/api/leases', {
      headers: { accept: 'application/json' },
    });
    expect(index.status).toBe(200);
    expect(JSON.parse(index.body.toString()).data.names.map((n: { name: string }) => n.name)).toContain(
      'web.market.localhost',
    );
  });

  it('answers an unknown name under .localhost with 404 and the list (JSON or HTML with links)', async () => {
    const json = await viaProxy(named('nope.shop.localhost'), '/', {
      headers: { accept: 'application/json' },
    });
    expect(json.status).toBe(404);
    const body = JSON.parse(json.body.toString());
    expect(body.error.code).toBe('E_NOT_FOUND');
    expect(body.error.data.names.map((n: { url: string }) => n.url)).toContain(
      `http://web.feature-x.shop.localhost:${proxyPort}`,
    );
    const html = await viaProxy(named('nope.localhost'), '/', { headers: { accept: 'text/html' } });
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body.toString()).toContain(`href="http://web.market.localhost:${proxyPort}/"`);
  });

  it('refuses any other Host with a bare 403 that names nothing', async () => {
    for (const host of [
      `127.0.0.1:${proxyPort}`,
      `[::1]:${proxyPort}`,
      'example.com',
      `api.shop.localhost.evil.com:${proxyPort}`,
      `evil.com:${proxyPort}`,
    ]) {
      const res = await viaProxy(host);
      expect({ host, status: res.status }).toEqual({ host, status: 403 });
      expect(res.body.toString()).not.toMatch(/shop|market|web|api\./);
    }
  });

  it('streams server-sent events one by one (each next event is only sent once the last arrived)', async () => {
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: proxyPort,
          path: '/sse',
          headers: { host: named('api.market.localhost') },
        },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            events.push(...chunk.split('\n\n').filter(Boolean));
            if (events.length >= 3) {
              req.destroy();
              resolve();
            } else viaProxy(named('api.market.localhost'), '/ack').catch(reject);
          });
        },
      );
      req.on('error', (e) => (events.length >= 3 ? resolve() : reject(e)));
      req.end();
    });
    expect(events).toHaveLength(3);
    const numbers = events.map((e) => Number(e.replace('data: ', '')));
    expect(numbers[1]).toBe(numbers[0]! + 1);
    expect(numbers[2]).toBe(numbers[0]! + 2);
  });

  it('passes a 50 MB upload and a 50 MB download through intact', async () => {
    const upload = Buffer.alloc(50 * 1024 * 1024);
    for (let i = 0; i < upload.length; i += 4096) upload.writeUInt32LE(i, i);
    const up = await viaProxy(named('web.shop.localhost'), '/upload', { method: 'POST', body: upload });
    expect(JSON.parse(up.body.toString())).toEqual({
      bytes: upload.length,
      sha256: createHash('sha256').update(upload).digest('hex'),
    });
    const down = await viaProxy(named('web.feature-x.shop.localhost'), '/download?mb=50');
    const expected = createHash('sha256');
    for (let i = 0; i < 50; i++) {
      const chunk = Buffer.alloc(1024 * 1024);
      for (let j = 0; j < chunk.length; j++) chunk[j] = (i + j) & 0xff;
      expected.update(chunk);
    }
    expect(down.body.length).toBe(50 * 1024 * 1024);
    expect(createHash('sha256').update(down.body).digest('hex')).toBe(expected.digest('hex'));
  });

  it('cuts the client short when the service dies mid-answer, and keeps serving', async () => {
    const got = await new Promise<{ body: string; cut: boolean }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: proxyPort, path: '/cut', headers: { host: named('web.shop.localhost') } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ body, cut: false }));
          res.on('error', () => resolve({ body, cut: true }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(got).toEqual({ body: 'partial', cut: true });
    expect((await viaProxy(named('web.shop.localhost'))).body.toString()).toBe(`web ${shop}`);
  });

  it('carries a websocket to the websocket name and echoes', async () => {
    // The name as a browser would dial it; Node's resolver needs telling that it is loopback.
    const lookup = (_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) =>
      options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    const ws = new WebSocket(`ws://websocket.shop.localhost:${proxyPort}/`, {
      lookup,
    } as unknown as WebSocket.ClientOptions);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (m) => resolve(m.toString()));
      ws.once('error', reject);
    });
    ws.close();
    expect(echoed).toBe('echo hello');
  });

  it('shows names in GET /api/leases, GET /api/ports and berth ls', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const leases = (await (
      await fetch(`http://127.0.0.1:${block[0]}/api/leases`, { headers: auth })
    ).json()) as {
      data: { leases: { dir: string; service: string; name: string | null }[] };
    };
    const web = leases.data.leases.find((l) => l.dir === worktree && l.service === 'web');
    expect(web?.name).toBe(`http://web.feature-x.shop.localhost:${proxyPort}`);
    const ports = (await (
      await fetch(`http://127.0.0.1:${block[0]}/api/ports?project=${encodeURIComponent(market)}`, {
        headers: auth,
      })
    ).json()) as { data: { names: Record<string, string> } };
    expect(ports.data.names).toEqual({
      web: `http://web.market.localhost:${proxyPort}`,
      api: `http://api.market.localhost:${proxyPort}`,
      websocket: `ws://websocket.market.localhost:${proxyPort}`,
    });
    const ls = await berth(['ls'], { cwd: worktree, env: box.env });
    expect(ls.stdout).toMatch(/NAME/);
    expect(ls.stdout).toContain(`http://api.feature-x.shop.localhost:${proxyPort}`);
  });

  it('with "urls": "named", berth env keeps the port URLs when the name does not resolve here, and says why in one line', async () => {
    const cfg = JSON.parse(readFileSync(join(market, 'berth.config.json'), 'utf8'));
    writeFileSync(join(market, 'berth.config.json'), JSON.stringify({ ...cfg, urls: 'named' }));
    const env = await berth(['env'], { cwd: market, env: box.env });
    writeFileSync(join(market, 'berth.config.json'), JSON.stringify(cfg));
    expect(env.code).toBe(0);
    expect(env.stdout).toMatch(/export WEB_URL=http:\/\/localhost:\d+/);
    const reason = env.stderr.split('\n').filter((l) => l.includes('<NAME>_URL'));
    expect(reason).toEqual([
      expect.stringContaining('web.market.localhost does not resolve to this machine here'),
    ]);
  });

  it('answers a stopped service with 502 naming it, its port and berth up', async () => {
    const stack = stacks.get(market)!;
    stack.kill('SIGINT');
    await new Promise((resolve) => stack.once('exit', resolve));
    const res = await waitFor(
      async () => {
        const r = await viaProxy(named('web.market.localhost'), '/', {
          headers: { accept: 'application/json' },
        });
        return r.status === 502 ? r : null;
      },
      { timeoutMs: 10_000, what: 'a 502 for web.market.localhost' },
    );
    const error = JSON.parse(res.body.toString()).error;
    expect(error.data).toMatchObject({
      service: 'web',
      project: 'market',
      dir: market,
      command: 'berth up web',
    });
    // Refused on its port while the proxy still holds the lease, or no lease at all once it
    // learnt of the release: either way the port is named.
    expect(error.message).toMatch(new RegExp(`(not answering on port|it had port) ${error.data.port}`));
    expect(error.message).toContain('`berth up web`');
    const html = await viaProxy(named('web.market.localhost'));
    expect(html.status).toBe(502);
    expect(html.body.toString()).toContain('berth up web');
  });
});

describe('berth hosts', () => {
  it('--write keeps a marked block: adds this checkout, keeps the user lines, removes stale names', async () => {
    const file = join(box.home, 'hosts');
    writeFileSync(file, '127.0.0.1 localhost\n10.0.0.5 printer.lan # mine\n');
    const env = { ...box.env, BERTH_HOSTS_FILE: file };
    const printed = await berth(['hosts'], { cwd: shop, env });
    expect(printed.stdout.trim().split('\n')).toEqual([
      '127.0.0.1\tweb.shop.localhost',
      '127.0.0.1\tapi.shop.localhost',
      '127.0.0.1\twebsocket.shop.localhost',
      '::1\tweb.shop.localhost',
      '::1\tapi.shop.localhost',
      '::1\twebsocket.shop.localhost',
    ]);
    expect((await berth(['hosts', '--write'], { cwd: shop, env })).code).toBe(0);
    expect((await berth(['hosts', '--write'], { cwd: worktree, env })).code).toBe(0);
    let text = readFileSync(file, 'utf8');
    expect(text.startsWith('127.0.0.1 localhost\n10.0.0.5 printer.lan # mine\n')).toBe(true);
    expect(text).toContain('127.0.0.1\tweb.feature-x.shop.localhost');
    expect(text).toContain('::1\tapi.shop.localhost');
    // The worktree goes away, and the main checkout drops a service: both leave the block.
    git(shop, 'worktree', 'remove', '--force', worktree);
    const cfg = JSON.parse(readFileSync(join(shop, 'berth.config.json'), 'utf8'));
    delete cfg.services.websocket;
    writeFileSync(join(shop, 'berth.config.json'), JSON.stringify(cfg));
    const rewrite = await berth(['hosts', '--write', '--json'], { cwd: shop, env });
    expect(JSON.parse(rewrite.stdout).removed.sort()).toEqual([
      'api.feature-x.shop.localhost',
      'web.feature-x.shop.localhost',
      'websocket.feature-x.shop.localhost',
      'websocket.shop.localhost',
    ]);
    text = readFileSync(file, 'utf8');
    expect(text).not.toContain('feature-x');
    expect(text).toContain('127.0.0.1\tweb.shop.localhost');
    expect(text).toContain('10.0.0.5 printer.lan # mine');
    expect(text.match(/berth names/g)).toHaveLength(2);
  });

  it('--write to a file it may not write fails naming the file and the way out', async () => {
    const res = await berth(['hosts', '--write'], {
      cwd: shop,
      env: { ...box.env, BERTH_HOSTS_FILE: join(box.home, 'no-such-dir', 'hosts') },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no-such-dir');
    expect(res.stderr).toContain('berth hosts');
  });
});
