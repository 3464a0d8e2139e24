/**
 * Two builds of berth side by side, with get-port in the same rotation: how #22's
 * changes were kept or dropped. Loads `index.js` of each dist/ folder in this one
 * process (each with a registry of its own), and asks each library once per round,
 * in an order rotated each round, so load drifting on a shared machine hits all
 * alike. After each call, outside the timed region, the port is checked free and
 * given back, as in the bench's latency section.
 *
 *   node bench/design/side-by-side.mjs --before /tmp/before/dist --after dist [--calls 2000] [--reps 5] [--modes zero-config,preferred] [--idle]
 *
 * With `--idle`, every library's process gets one turn of the event loop after each of
 * its calls (untimed), as a caller that does any I/O between two calls gives it.
 *
 * Prints, per mode and library: median, p90, p99 and mean of the call's time (us),
 * and the ratio of each to get-port's; then the wall time of the whole sequential
 * loop per call (timed and untimed work together), which shows work moved off the
 * call rather than removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkFree, findFreePorts } from '../support/ports.mjs';
import { microsSince, percentile, rotate, summarize } from '../support/stats.mjs';

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string' },
    calls: { type: 'string', default: '2000' },
    reps: { type: 'string', default: '5' },
    modes: { type: 'string', default: 'zero-config,preferred' },
    idle: { type: 'boolean', default: false },
  },
});
if (!values.before || !values.after) {
  console.error(
    'usage: side-by-side.mjs --before DIST --after DIST [--calls N] [--reps N] [--modes zero-config,preferred]',
  );
  process.exit(2);
}
const CALLS = Number(values.calls);
const REPS = Number(values.reps);
const WARMUP = 100;
const MODES = values.modes.split(',');

const homes = [];
async function berth(dist) {
  const home = mkdtempSync(join(tmpdir(), 'berth-sbs-'));
  homes.push(home);
  const { getPort, releasePort } = await import(pathToFileURL(join(resolve(dist), 'index.js')).href);
  const call = ({ port } = {}) => getPort({ home, ...(port !== undefined ? { port } : {}) });
  call.release = (port) => releasePort(port, { home });
  return call;
}
const { default: gp, clearLockedPorts } = await import('get-port');
const getPortPeer = ({ port } = {}) => (port !== undefined ? gp({ port }) : gp());
getPortPeer.release = async () => {};
const libs = {
  before: await berth(values.before),
  after: await berth(values.after),
  'get-port': getPortPeer,
};
const names = Object.keys(libs);

const preferred = await findFreePorts(WARMUP + CALLS);
const results = Object.fromEntries(MODES.map((m) => [m, Object.fromEntries(names.map((n) => [n, []]))]));
for (let rep = 0; rep < REPS; rep++) {
  for (const mode of MODES) {
    clearLockedPorts();
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    const loop = Object.fromEntries(names.map((n) => [n, 0n]));
    for (let i = 0; i < WARMUP + CALLS; i++) {
      for (const name of rotate(names, i + rep)) {
        const lib = libs[name];
        const loopStart = process.hrtime.bigint();
        const start = process.hrtime.bigint();
        const port = await lib(mode === 'preferred' ? { port: preferred[i] } : {});
        const micros = microsSince(start);
        if (!(await checkFree(port)).free) throw new Error(`${name} returned a busy port ${port}`);
        await lib.release(port);
        if (values.idle) await new Promise((resolve) => setImmediate(resolve));
        if (i >= WARMUP) {
          samples[name].push(micros);
          loop[name] += process.hrtime.bigint() - loopStart;
        }
      }
    }
    for (const name of names) {
      results[mode][name].push({
        ...summarize(samples[name]),
        p90: percentile(samples[name], 90),
        loop: Number(loop[name]) / 1e3 / CALLS,
      });
    }
    console.error(
      `rep ${rep + 1} ${mode}: ${names.map((n) => `${n} ${results[mode][n].at(-1).median.toFixed(1)} us`).join(', ')}`,
    );
  }
}

const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const mode of MODES) {
  console.log(
    `\n${mode}${values.idle ? ', a turn of the event loop after each call' : ''} (${CALLS} calls x ${REPS} reps; median over reps; ratio to get-port)`,
  );
  console.log(
    ['library', 'median', 'p90', 'p99', 'mean', 'mean/median', 'loop/call']
      .map((h) => h.padStart(12))
      .join(''),
  );
  const base = Object.fromEntries(
    ['median', 'p90', 'p99', 'mean', 'loop'].map((k) => [k, med(results[mode]['get-port'].map((r) => r[k]))]),
  );
  for (const name of names) {
    const runs = results[mode][name];
    const v = Object.fromEntries(
      ['median', 'p90', 'p99', 'mean', 'loop'].map((k) => [k, med(runs.map((r) => r[k]))]),
    );
    const cell = (k) => `${v[k].toFixed(1)} ${(v[k] / base[k]).toFixed(2)}x`;
    console.log(
      [
        name,
        cell('median'),
        cell('p90'),
        cell('p99'),
        cell('mean'),
        (v.mean / v.median).toFixed(2),
        cell('loop'),
      ]
        .map((c) => c.padStart(12))
        .join(''),
    );
  }
}
for (const home of homes) rmSync(home, { recursive: true, force: true });
