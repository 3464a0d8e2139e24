/**
 * One process of a burst (bench/sections/burst.mjs), reused across trials.
 * `node burst-worker.mjs <library> <home>` imports the library (reporting how
 * long that took), then takes lines on stdin:
 * - `{ calls, options }`: set up a trial; answers `ready`;
 * - `go`: makes `calls` calls at once (`Promise.all`), binding each port on `::`
 *   as soon as it arrives; answers one JSON line with the answers, the time from
 *   `go` to its last answer and the event loop's longest stall meanwhile, and
 *   keeps ports bound and leased until `end`;
 * - `end`: closes the servers, releases the ports (berth's leases), answers `done`.
 */
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { createPeer } from '../peers.mjs';

const [library, home] = process.argv.slice(2);
const importStart = performance.now();
const peer = await createPeer(library, { home });
const importMs = performance.now() - importStart;
let servers = [];
let handed = [];
let spec;

const bind = (port) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error) => resolve(error.code ?? 'ERROR'));
    server.listen({ port, host: '::', exclusive: true }, () => {
      servers.push(server);
      resolve('ok');
    });
  });

/**
 * The event loop's longest stall while `work` runs: a 1 ms timer's lateness,
 * counted only as far as this process used CPU meanwhile (the smaller of the
 * two). Synchronous work keeping the loop counts; the OS running the other
 * processes of the burst (64 of them on 2 cores) does not. Only when
 * `spec.watch` is set: timers in every one of 64 processes would themselves
 * crowd the machine.
 */
async function watchLoop(work) {
  if (!spec.watch) return { value: await work(), worst: null };
  const cpu = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  let last = performance.now();
  let lastCpu = cpu();
  let worst = 0;
  const tick = () => {
    const now = performance.now();
    const used = cpu();
    worst = Math.max(worst, Math.min(now - last - 1, used - lastCpu));
    last = now;
    lastCpu = used;
  };
  const timer = setInterval(tick, 1);
  try {
    const value = await work();
    tick();
    return { value, worst };
  } finally {
    clearInterval(timer);
  }
}

async function burst() {
  const start = performance.now();
  const { value, worst } = await watchLoop(() =>
    Promise.all(
      Array.from({ length: spec.calls }, async () => {
        try {
          const port = await peer(spec.options);
          handed.push(port);
          return { port, bind: await bind(port) };
        } catch (error) {
          return { error: error.code ?? 'no code', message: String(error.message).slice(0, 200) };
        }
      }),
    ),
  );
  return { answers: value, lastMs: performance.now() - start, stallMs: worst, importMs };
}

const lines = createInterface({ input: process.stdin });
let chain = Promise.resolve();
lines.on('line', (line) => {
  chain = chain.then(async () => {
    if (line === 'go') process.stdout.write(`${JSON.stringify(await burst())}\n`);
    else if (line === 'end') {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      // A release that fails (a registry too busy to answer in time) is not measured and must not end the worker.
      for (const port of handed) await peer.release(port).catch(() => {});
      servers = [];
      handed = [];
      await peer.reset();
      process.stdout.write('done\n');
    } else {
      spec = JSON.parse(line);
      process.stdout.write('ready\n');
    }
  });
});
lines.once('close', () => chain.then(() => process.exit(0)));
process.stdout.write('started\n');
