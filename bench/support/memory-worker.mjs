/**
 * Measures one library's memory in a fresh process:
 * `node memory-worker.mjs <library> <calls> <home>` makes one zero-config call,
 * then `calls` more (ports kept, as a test suite keeps them), and prints one JSON
 * line with the RSS and heap before the first call, after it and after the rest, in bytes, and after a full GC when the
 * process runs with --expose-gc (live memory, without garbage not yet
 * collected), the median call time in microseconds, and how many returned
 * ports were not bindable on all four addresses (checked after the readings).
 */
import { createPeer } from '../peers.mjs';
import { checkFree } from './ports.mjs';

const [library, callsText, home] = process.argv.slice(2);
const calls = Number(callsText);
const peer = await createPeer(library, { home });
const before = process.memoryUsage();
let errors = 0;
const micros = [];
const ports = [];
// The first call, apart: what a library sets up once (berth opens its registry: SQLite's
// first open, schema and statements) is a fixed cost, reported beside the growth.
try {
  ports.push(await peer());
} catch {
  errors++;
}
const afterFirst = process.memoryUsage();
for (let i = 0; i < calls; i++) {
  const start = process.hrtime.bigint();
  try {
    ports.push(await peer());
  } catch {
    errors++;
  }
  micros.push(Number(process.hrtime.bigint() - start) / 1000);
}
micros.sort((a, b) => a - b);
const medianMicros = micros[micros.length >> 1];
const after = process.memoryUsage();
let afterGc = null;
if (typeof globalThis.gc === 'function') {
  globalThis.gc();
  afterGc = process.memoryUsage();
}
// Checked after the memory was read: the check allocates too.
let falseResults = 0;
for (const port of ports) if (!(await checkFree(port)).free) falseResults++;
process.stdout.write(
  `${JSON.stringify({ before, afterFirst, after, afterGc, errors, medianMicros, falseResults })}\n`,
);
// Exit now: berth's exit handler releases the leases; nothing else is pending.
process.exit(0);
