/**
 * One racing process, reused across trials so a run does not pay 1,000 Node
 * start-ups. `node race-worker.mjs <library>`, then lines on stdin:
 * - `{ home, range, asks, mode }`: set up a trial (berth: registry `home`); answers `ready`;
 * - `go`: asks `asks` times for a port in `range`, binding each on `::` at once
 *   (mode `bind-each`) or after all asks (mode `batch`); answers one JSON line
 *   `[{ port, bind } | { error, message }]` and keeps the ports bound (and
 *   berth's leases held) so later asks of other processes meet them;
 * - `end`: closes the servers, releases the ports (berth's leases), answers `done`.
 * Exits when stdin closes.
 */
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { createPeer } from '../peers.mjs';

const library = process.argv[2];
const lines = createInterface({ input: process.stdin });
let servers = [];
let handed = [];
let spec;
let peer;

function bind(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error) => resolve(error.code ?? 'ERROR'));
    server.listen({ port, host: '::', exclusive: true }, () => {
      servers.push(server);
      resolve('ok');
    });
  });
}

async function ask() {
  try {
    const port = await peer({ range: spec.range });
    handed.push(port);
    return { port };
  } catch (error) {
    return { error: error.code ?? 'no code', message: String(error.message).slice(0, 300) };
  }
}

async function race() {
  const out = [];
  for (let i = 0; i < spec.asks; i++) {
    const got = await ask();
    if (spec.mode === 'bind-each' && got.port !== undefined) got.bind = await bind(got.port);
    out.push(got);
  }
  if (spec.mode === 'batch') {
    for (const got of out) if (got.port !== undefined) got.bind = await bind(got.port);
  }
  return out;
}

async function end() {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  for (const port of handed) await peer.release(port);
  servers = [];
  handed = [];
}

// Lines are handled one at a time, in order.
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(async () => {
    if (line === 'go') process.stdout.write(`${JSON.stringify(await race())}\n`);
    else if (line === 'end') {
      await end();
      process.stdout.write('done\n');
    } else {
      spec = JSON.parse(line);
      peer = await createPeer(library, { home: spec.home });
      await peer.reset();
      process.stdout.write('ready\n');
    }
  });
});
lines.once('close', () => chain.then(() => process.exit(0)));
