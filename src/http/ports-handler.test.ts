import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortsData } from '../core/endpoints.js';
import { createPortsHandler } from './ports-handler.js';

const DATA = {
  server: 41000,
  websocket: 41000,
  environment: 'development',
  urls: { server: 'http://localhost:41000', websocket: 'ws://localhost:41000' },
} as PortsData;

let server: Server | null = null;
afterEach(async () => {
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = null;
});

async function serve(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('createPortsHandler', () => {
  it("serves GET /api/ports with the seed's response from pm.ports()", async () => {
    const base = await serve(createPortsHandler({ ports: () => DATA }));
    const res = await fetch(`${base}/api/ports?x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ success: true, data: DATA });
  });

  it('answers 404 for other paths and methods when used as a plain handler', async () => {
    const base = await serve(createPortsHandler({ ports: () => DATA }));
    const res = await fetch(`${base}/other`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_NOT_FOUND');
    expect((await fetch(`${base}/api/ports`, { method: 'POST' })).status).toBe(404);
  });

  it('calls next() for other requests when used as middleware, and honours a custom path', async () => {
    const handler = createPortsHandler({ ports: () => DATA }, { path: '/ports.json' });
    const base = await serve((req, res) =>
      handler(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('app');
      }),
    );
    expect(await (await fetch(`${base}/`)).text()).toBe('app');
    expect(((await (await fetch(`${base}/ports.json`)).json()) as { data: unknown }).data).toEqual(DATA);
  });

  it('turns an error from the manager into the API error shape', async () => {
    const base = await serve(
      createPortsHandler({
        ports: () => {
          throw new Error('registry gone');
        },
      }),
    );
    const res = await fetch(`${base}/api/ports`);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { success: boolean }).success).toBe(false);
  });
});
