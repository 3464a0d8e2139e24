// What every worker test does: listen on the port berth leased for its worker, then say so.
import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Listens on `port` (exclusive: a second listener anywhere would fail with EADDRINUSE). */
export function bind(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end('hi'));
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** For berth's own e2e test: which process had which port bound, from `since` until now (BERTH_EXAMPLE_REPORT names the file). */
export function report(port: number, test: string, since = Date.now()): void {
  const file = process.env.BERTH_EXAMPLE_REPORT;
  if (file)
    appendFileSync(file, `${JSON.stringify({ port, pid: process.pid, test, since, until: Date.now() })}\n`);
}
