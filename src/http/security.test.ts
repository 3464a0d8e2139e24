import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdapters } from '../compose/context.js';
import { createApp, type DaemonApp } from './app.js';
import { MAX_BODY_BYTES } from './body.js';
import type { HttpRequest, HttpResponse } from './message.js';
import { createGuard } from './security.js';

const PORT = 4949;
const TOKEN = 'c3'.repeat(32);
/** Same length as the token, one character different: must be refused like any wrong token. */
const NEAR_TOKEN = `${TOKEN.slice(0, -1)}4`;

let root: string;
let app: DaemonApp;
let close: () => void;
const seen: HttpResponse[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-sec-'));
  const adapters = createAdapters({ home: root });
  app = createApp({ adapters, port: PORT, token: TOKEN, allowHosts: ['berth.test'] });
  close = () => {
    app.close();
    adapters.registry.close();
  };
});

afterEach(() => {
  for (const r of seen.splice(0)) {
    expect(Object.keys(r.headers).some((h) => h.toLowerCase().startsWith('access-control-'))).toBe(false);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  }
  close();
  rmSync(root, { recursive: true, force: true });
});

async function send(request: Partial<HttpRequest> & { headers?: Record<string, string> }) {
  const res = await app.handle({
    method: 'GET',
    url: '/api/leases',
    body: null,
    ...request,
    headers: { host: `127.0.0.1:${PORT}`, authorization: `Bearer ${TOKEN}`, ...request.headers },
  });
  seen.push(res);
  return res;
}

function refusal(res: HttpResponse) {
  const body = JSON.parse(res.body.toString());
  expect(body.success).toBe(false);
  return { status: res.status, code: body.error.code as string, message: body.error.message as string };
}

const postJson = (headers: Record<string, string> = {}, body = '{"project":"/nowhere"}') =>
  send({
    method: 'POST',
    url: '/api/assign',
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(body),
  });

describe('Host allow-list (DNS rebinding)', () => {
  it('refuses Host: evil.example with 403 on the API and on the dashboard', async () => {
    const api = refusal(await send({ headers: { host: 'evil.example' } }));
    expect(api).toMatchObject({ status: 403, code: 'E_REFUSED' });
    expect(api.message).toContain('--allow-host');
    expect((await send({ url: '/', headers: { host: `evil.example:${PORT}` } })).status).toBe(403);
  });

  it('refuses a loopback name on another port, and a missing Host', async () => {
    expect((await send({ headers: { host: 'localhost:1234' } })).status).toBe(403);
    expect((await send({ headers: { host: '' } })).status).toBe(403);
  });

  it('accepts localhost, 127.0.0.1, [::1] and allowed names with the port', async () => {
    for (const host of [
      `localhost:${PORT}`,
      `127.0.0.1:${PORT}`,
      `[::1]:${PORT}`,
      `LOCALHOST:${PORT}`,
      `berth.test:${PORT}`,
    ]) {
      expect((await send({ headers: { host } })).status).toBe(200);
    }
  });
});

describe('Origin (cross-site requests)', () => {
  it('refuses Origin: http://1.2.3.4:4949 on a POST: an IP-address origin is no exception', async () => {
    const res = refusal(await postJson({ origin: `http://1.2.3.4:${PORT}` }));
    expect(res).toMatchObject({ status: 403, code: 'E_REFUSED' });
  });

  it('refuses another loopback port and "null" as origins, and accepts the exact own origin', async () => {
    expect((await postJson({ origin: 'http://localhost:3000' })).status).toBe(403);
    expect((await postJson({ origin: 'null' })).status).toBe(403);
    // The own origin gets through the guard to the route: a real project, released with success.
    const dir = join(root, 'shop');
    mkdirSync(dir);
    writeFileSync(join(dir, 'berth.config.json'), JSON.stringify({ services: { api: {} } }));
    const own = await send({
      method: 'POST',
      url: '/api/release',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${PORT}` },
      body: Buffer.from(JSON.stringify({ project: dir })),
    });
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body.toString())).toEqual({
      success: true,
      data: { project: 'shop', environment: 'development', released: [] },
    });
    // Origin must match the Host it came through exactly.
    expect((await postJson({ host: `localhost:${PORT}`, origin: `http://127.0.0.1:${PORT}` })).status).toBe(
      403,
    );
  });

  it('refuses a foreign Origin on the event stream, where GET is otherwise unchecked', async () => {
    const res = refusal(await send({ url: '/api/events', headers: { origin: 'http://evil.example' } }));
    expect(res.status).toBe(403);
    expect((await send({ url: '/api/leases', headers: { origin: 'http://evil.example' } })).status).toBe(200);
  });
});

describe('token', () => {
  it('refuses every /api route without a token', async () => {
    for (const url of [
      '/api/ports',
      '/api/leases',
      '/api/health',
      '/api/events',
      '/api/status',
      '/api/nope',
    ]) {
      const res = await app.handle({
        method: 'GET',
        url,
        headers: { host: `localhost:${PORT}` },
        body: null,
      });
      seen.push(res);
      expect(refusal(res)).toMatchObject({ status: 403, code: 'E_REFUSED' });
    }
    const post = await app.handle({
      method: 'POST',
      url: '/api/assign',
      headers: { host: `localhost:${PORT}`, 'content-type': 'application/json' },
      body: Buffer.from('{}'),
    });
    seen.push(post);
    expect(post.status).toBe(403);
  });

  it('refuses a wrong token of the same length, by header, cookie and URL', async () => {
    expect(NEAR_TOKEN).toHaveLength(TOKEN.length);
    const header = refusal(await send({ headers: { authorization: `Bearer ${NEAR_TOKEN}` } }));
    expect(header).toMatchObject({ status: 403, code: 'E_REFUSED' });
    expect(header.message).toContain('wrong token');
    const cookie = await send({
      headers: { authorization: '', cookie: `berth_token_${PORT}=${NEAR_TOKEN}` },
    });
    expect(cookie.status).toBe(403);
    expect((await send({ url: `/?token=${NEAR_TOKEN}` })).status).toBe(403);
    expect((await send({ headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(403);
  });

  it('compares tokens of different lengths without throwing', () => {
    const guard = createGuard({ port: PORT, token: TOKEN });
    expect(guard.isToken(TOKEN)).toBe(true);
    expect(guard.isToken(TOKEN.slice(1))).toBe(false);
    expect(guard.isToken(`${TOKEN}0`)).toBe(false);
    expect(guard.isToken('é'.repeat(32))).toBe(false);
  });
});

describe('mutations', () => {
  it('refuses a text/plain POST with 415', async () => {
    const res = refusal(await postJson({ 'content-type': 'text/plain' }));
    expect(res).toMatchObject({ status: 415, code: 'E_CONTENT_TYPE' });
    expect((await postJson({ 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  it('refuses a body over the cap with 413', async () => {
    const big = JSON.stringify({ project: 'x'.repeat(MAX_BODY_BYTES) });
    const res = await postJson({}, big);
    expect(refusal(res)).toMatchObject({ status: 413, code: 'E_TOO_LARGE' });
    expect(res.headers.connection).toBe('close');
  });

  it('refuses a cross-site POST before anything else is looked at', async () => {
    const res = await postJson({
      origin: 'http://evil.example',
      'content-type': 'text/plain',
      authorization: '',
    });
    expect(refusal(res).message).toContain('origin');
  });
});
