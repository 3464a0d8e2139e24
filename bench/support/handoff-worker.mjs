/**
 * One process of the lock hand-off measurement (bench/sections/handoff.mjs):
 * `node handoff-worker.mjs <home> <turns> <port> <pauseMs>` opens berth's
 * registry in <home> (the real adapters, the batch's reclaim hook included),
 * says `ready`, and on `go` runs <turns> write transactions (each leases <port>
 * and gives it back, so every commit writes), pausing a random 0 to <pauseMs>
 * ms after each (0: back to back). It prints one JSON line: per turn, the
 * system-wide monotonic clock (ns) when it asked for the transaction, at its
 * first and at its last statement, so the parent can tell how long the lock
 * took to pass from one process to the next.
 */
import { createInterface } from 'node:readline';
import { distUrl } from './dist.mjs';

const [home, turnsText, portText, pauseText] = process.argv.slice(2);
const pauseMs = Number(pauseText ?? 0);
const turns = Number(turnsText);
const port = Number(portText);
const { createAdapters } = await import(distUrl('compose/context.js'));
const adapters = createAdapters({ home });
const { registry } = adapters;
const owner = adapters.processes.self();
const now = () => process.hrtime.bigint().toString();

function turn(tx) {
  const start = now();
  const lease = tx.insert({
    port,
    kind: 'adhoc',
    project: '',
    dir: '',
    environment: '',
    service: 'handoff',
    inheritsFrom: null,
    owner,
    createdAt: Date.now(),
    expiresAt: null,
    scheme: null,
  });
  tx.remove(lease.id, 'released');
  return { start, end: now() };
}

// Prepares the statements before go, as a warm process has them.
await registry.transaction(turn);
const lines = createInterface({ input: process.stdin });
lines.once('line', async () => {
  const out = [];
  for (let i = 0; i < turns; i++) {
    const asked = now();
    out.push({ asked, ...(await registry.transaction(turn)) });
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * pauseMs));
  }
  process.stdout.write(`${JSON.stringify({ pid: process.pid, turns: out })}\n`);
  registry.close();
  lines.close();
});
process.stdout.write('ready\n');
