import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpApp, HttpRequest, StreamSink } from './message.js';
import { createNodeListener } from './node-adapter.js';

let server: Server | null = null;
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  }
  server = null;
});

async function serve(app: HttpApp, cap?: number): Promise<number> {
  server = createServer(createNodeListener(app, cap));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return (server!.address() as AddressInfo).port;
}

describe('createNodeListener', () => {
  it('hands the app method, url, headers and body, and writes its status, headers and body', async () => {
    const seen: HttpRequest[] = [];
    const port = await serve({
      handle: async (req) => {
        seen.push(req);
        return {
          status: 201,
          headers: { 'content-type': 'text/plain', 'x-test': 'yes' },
          body: `got ${req.body?.length ?? 'none'}`,
        };
      },
      close: () => {},
    });
    const res = await fetch(`http://127.0.0.1:${port}/a?b=1`, {
      method: 'POST',
      body: 'hello',
      headers: { 'x-in': 'v' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-test')).toBe('yes');
    expect(await res.text()).toBe('got 5');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/a?b=1', headers: { 'x-in': 'v' } });
    const get = await fetch(`http://127.0.0.1:${port}/`);
    expect(await get.text()).toBe('got none');
  });

  it('reads no more than one byte past the cap, so the app can refuse a large body', async () => {
    const lengths: number[] = [];
    const port = await serve(
      {
        handle: async (req) => {
          lengths.push(req.body?.length ?? -1);
          return { status: 413, headers: { connection: 'close' }, body: 'too large' };
        },
        close: () => {},
      },
      100,
    );
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(2_000) });
    expect(res.status).toBe(413);
    expect(lengths).toEqual([101]);
  });

  it('keeps a stream open, writes its chunks as they come, and stops it when the client leaves', async () => {
    let sink: StreamSink | null = null;
    let stopped = false;
    const port = await serve({
      handle: async () => ({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: {
          kind: 'stream',
          open: (s) => {
            sink = s;
            s.write('first\n');
            return () => {
              stopped = true;
            };
          },
        },
      }),
      close: () => {},
    });
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text === 'first\n') sink!.write('second\n');
          if (text.endsWith('second\n')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(received).toBe('first\nsecond\n');
    await expect.poll(() => stopped).toBe(true);
  });
});
