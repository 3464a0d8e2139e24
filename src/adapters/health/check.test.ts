import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthSpec } from '../../core/types.js';
import { checkHealth } from './check.js';

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function start(server: Server, host = '127.0.0.1', port = 0): Promise<number> {
  servers.push(server);
  server.listen({ port, host, exclusive: true });
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** An HTTP server answering `status` on `path` and 404 elsewhere. */
function httpServer(status: number, path = '/') {
  return createHttpServer((req, res) => {
    res.statusCode = req.url === path ? status : 404;
    res.end('hello');
  });
}

const http = (over: Partial<HealthSpec> = {}): HealthSpec => ({
  type: 'http',
  path: '/',
  expectStatus: null,
  intervalMs: 100,
  timeoutMs: 2000,
  ...over,
});
const tcp: HealthSpec = { type: 'tcp', path: '/', expectStatus: null, intervalMs: 100, timeoutMs: 2000 };

describe('checkHealth over http', () => {
  it('is healthy when the server answers 200, and names the address that answered', async () => {
    const port = await start(httpServer(200));
    const health = await checkHealth(http(), port);
    expect(health).toMatchObject({ status: 'healthy', reason: null, address: '127.0.0.1' });
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('accepts any status below 500 by default (a 404 means the server is up)', async () => {
    const port = await start(httpServer(200, '/elsewhere'));
    expect((await checkHealth(http(), port)).status).toBe('healthy');
  });

  it('is unhealthy when the server answers 503, and says what it answered', async () => {
    const port = await start(httpServer(503));
    const health = await checkHealth(http(), port);
    expect(health.status).toBe('unhealthy');
    expect(health.reason).toBe('GET / answered 503 (expected a status below 500) on 127.0.0.1');
    expect(health.address).toBe('127.0.0.1');
  });

  it('asks spec.path and insists on expectStatus when one is given', async () => {
    const port = await start(httpServer(204, '/healthz'));
    expect((await checkHealth(http({ path: '/healthz', expectStatus: 204 }), port)).status).toBe('healthy');
    const wrong = await checkHealth(http({ path: '/healthz', expectStatus: 200 }), port);
    expect(wrong.reason).toBe('GET /healthz answered 204 (expected 200) on 127.0.0.1');
  });

  it('times out on a server that accepts but never answers, and says after how long', async () => {
    const port = await start(createServer((socket) => sockets.push(socket)));
    const health = await checkHealth(http({ timeoutMs: 200 }), port);
    expect(health.status).toBe('unhealthy');
    expect(health.reason).toBe('GET / timed out after 200 ms on 127.0.0.1');
  });

  it('reports a server that hangs up without answering as a failure, not a timeout', async () => {
    const port = await start(createServer((socket) => socket.destroy()));
    const health = await checkHealth(http(), port);
    expect(health.status).toBe('unhealthy');
    expect(health.reason).toMatch(/^GET \/ failed: .+ on 127\.0\.0\.1$/);
  });

  it('is healthy when the server listens on ::1 only', async () => {
    const port = await start(httpServer(200), '::1');
    expect(await checkHealth(http(), port)).toMatchObject({ status: 'healthy', address: '::1' });
  });

  it('caps the timeout with maxTimeoutMs', async () => {
    const port = await start(createServer((socket) => sockets.push(socket)));
    const health = await checkHealth(http({ timeoutMs: 60_000 }), port, { maxTimeoutMs: 150 });
    expect(health.reason).toBe('GET / timed out after 150 ms on 127.0.0.1');
  });
});

describe('checkHealth over tcp', () => {
  it('is healthy when something accepts the connection', async () => {
    const port = await start(createServer((socket) => socket.end()));
    expect(await checkHealth(tcp, port)).toMatchObject({ status: 'healthy', address: '127.0.0.1' });
  });

  it('is healthy for a server on ::1 only', async () => {
    const port = await start(
      createServer((socket) => socket.end()),
      '::1',
    );
    expect(await checkHealth(tcp, port)).toMatchObject({ status: 'healthy', address: '::1' });
  });
});

describe('checkHealth on a closed port', () => {
  it.each([
    ['http', http()],
    ['tcp', tcp],
  ])('%s: not running, refused on both loopback addresses', async (_name, spec) => {
    // Hold the port on both addresses, then close it: nothing listens on it for the check.
    const port = await start(createServer());
    await start(createServer(), '::1', port);
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const health = await checkHealth(spec, port);
    expect(health).toMatchObject({
      status: 'not-running',
      reason: 'connection refused on 127.0.0.1 and ::1',
      address: null,
    });
  });
});
