/**
 * The daemon section: runs bench/daemon.mjs (another engineer's autocannon
 * comparison of berth's `GET /api/ports` with a bare node:http server) as a
 * child process, passing a JSON output path as argv[2], and reports what it
 * wrote. Without bench/daemon.mjs the section says "not run".
 *
 * bench/daemon.mjs writes `{ daemonRps, bareRps, ratio, daemonRssMbMax,
 * daemonRssMbMedian, ... }`. The figures are read tolerantly, so a change of
 * shape degrades to "not found" instead of failing the run: every numeric
 * field is shown, and the targets use `ratio` (else daemon / bare requests
 * per second) and the daemon's largest RSS sample.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, target } from '../support/report.mjs';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../daemon.mjs');
const TIMEOUT_MS = 180_000;

function flatten(value, prefix = '', out = []) {
  if (typeof value === 'number') out.push([prefix, value]);
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  }
  return out;
}

const firstNumber = (...values) => values.find((v) => typeof v === 'number' && Number.isFinite(v));

function throughput(side) {
  if (!side || typeof side !== 'object') return undefined;
  return firstNumber(side.requestsPerSec, side.rps, side.requests?.average, side.requests);
}

function rssMB(json) {
  for (const side of [json.berth, json.daemon, json]) {
    if (!side || typeof side !== 'object') continue;
    const mb = firstNumber(side.rssMB, side.rssMb, side.maxRssMB);
    if (mb !== undefined) return mb;
    const bytes = firstNumber(side.rss, side.maxRss);
    if (bytes !== undefined) return bytes > 10_000 ? bytes / (1024 * 1024) : bytes;
  }
  return undefined;
}

const notRun = (why) => ({
  id: 'daemon',
  title: '9. Daemon: GET /api/ports throughput',
  tables: [],
  notes: [why],
  targets: [
    { name: 'daemon throughput', goal: '>= 0.7x bare node:http', value: 'not run', met: null, note: why },
    { name: 'daemon memory', goal: '< 100 MB RSS while serving', value: 'not run', met: null, note: why },
  ],
  raw: null,
});

/** Runs bench/daemon.mjs when it exists. */
export async function run(ctx) {
  if (!existsSync(SCRIPT)) return notRun('bench/daemon.mjs does not exist yet.');
  const output = join(ctx.tempDir('daemon'), 'daemon.json');
  const failure = await new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, output], { timeout: TIMEOUT_MS }, (error, _stdout, stderr) =>
      resolve(error ? `${error.message}\n${stderr}`.trim().slice(0, 500) : null),
    );
  });
  if (failure) return notRun(`bench/daemon.mjs failed: ${failure}`);
  if (!existsSync(output)) return notRun('bench/daemon.mjs wrote no JSON to the path given as argv[2].');
  const json = JSON.parse(readFileSync(output, 'utf8'));
  const berth = firstNumber(json.daemonRps, throughput(json.berth), throughput(json.daemon));
  const bare = firstNumber(json.bareRps, throughput(json.bare), throughput(json.node));
  const r = firstNumber(json.ratio, berth !== undefined && bare ? berth / bare : undefined);
  const rss = firstNumber(json.daemonRssMbMax, rssMB(json));
  ctx.log(`daemon: ratio ${fmt(r)}, rss ${fmt(rss)} MB`);
  return {
    id: 'daemon',
    title: '9. Daemon: GET /api/ports throughput',
    tables: [
      {
        title: 'Figures written by bench/daemon.mjs',
        headers: ['figure', 'value'],
        rows: flatten(json).map(([key, value]) => [key, fmt(value)]),
      },
    ],
    notes: [
      'Measured by bench/daemon.mjs (autocannon against `berth serve` and a bare node:http server returning the same JSON, in the same run).',
    ],
    targets: [
      target('daemon throughput', '>= 0.7x bare node:http', r, 0.7, {
        compare: '>=',
        shown:
          r === undefined
            ? 'not found in its output'
            : `${fmt(r)}x${berth !== undefined ? ` (${fmt(berth)} vs ${fmt(bare)} req/s)` : ''}`,
      }),
      target('daemon memory', '< 100 MB RSS while serving', rss, 100, {
        shown: rss === undefined ? 'not found in its output' : `${fmt(rss)} MB`,
      }),
    ],
    raw: json,
  };
}
