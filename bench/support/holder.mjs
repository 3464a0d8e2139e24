/**
 * Child process that holds ports like a foreign server: reads a JSON list of
 * `{ port, host, ipv6Only }` from stdin, listens on each, prints the binds
 * that failed as one JSON line, and exits when stdin closes.
 */
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

const lines = createInterface({ input: process.stdin });
const servers = [];

lines.once('line', async (line) => {
  const binds = JSON.parse(line);
  const failed = [];
  await Promise.all(
    binds.map(
      ({ port, host, ipv6Only = false }) =>
        new Promise((resolve) => {
          const server = createServer((socket) => socket.destroy());
          server.once('error', (error) => {
            failed.push({ port, host, code: error.code });
            resolve();
          });
          server.listen({ port, host, ipv6Only, exclusive: true }, () => {
            servers.push(server);
            resolve();
          });
        }),
    ),
  );
  process.stdout.write(`${JSON.stringify({ failed })}\n`);
});
lines.once('close', () => {
  for (const server of servers) server.close();
  process.exit(0);
});
