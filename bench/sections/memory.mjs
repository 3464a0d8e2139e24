/**
 * 8. Memory: RSS of a fresh process over 2,000 zero-config calls after a
 * first one, each library in its own child process, 3 processes per library (median).
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIBRARIES } from '../peers.mjs';
import { figureTable, fmt, target } from '../support/report.mjs';
import { median, ratio, rotate } from '../support/stats.mjs';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), '../support/memory-worker.mjs');
const CALLS = 2000;
const REPS = 3;
const MB = 1024 * 1024;

function measure(lib, home) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', WORKER, lib, String(CALLS), home],
      { timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`memory worker for ${lib} failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/** Runs the memory section. */
export async function run(ctx) {
  const runs = Object.fromEntries(LIBRARIES.map((l) => [l, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const lib of rotate(LIBRARIES, rep)) {
      const result = await measure(lib, ctx.tempDir('memory'));
      runs[lib].push(result);
      ctx.log(`memory rep ${rep + 1} ${lib}: rss ${fmt(result.after.rss / MB)} MB`);
    }
  }
  const values = {};
  for (const lib of LIBRARIES) {
    const r = runs[lib];
    values[lib] = {
      rss: median(r.map((x) => x.after.rss / MB)),
      rssBefore: median(r.map((x) => x.before.rss / MB)),
      first: median(r.map((x) => (x.afterFirst.rss - x.before.rss) / MB)),
      growth: median(r.map((x) => (x.after.rss - x.afterFirst.rss) / MB)),
      growthWithFirst: median(r.map((x) => (x.after.rss - x.before.rss) / MB)),
      heap: median(r.map((x) => x.after.heapUsed / MB)),
      rssGc: median(r.map((x) => x.afterGc.rss / MB)),
      heapGc: median(r.map((x) => x.afterGc.heapUsed / MB)),
      errors: r.reduce((a, x) => a + x.errors, 0),
      falseResults: r.reduce((a, x) => a + x.falseResults, 0),
      micros: median(r.map((x) => x.medianMicros)),
    };
  }
  const r = ratio(values.berth.growth, values['get-port'].growth);
  const fixed = values.berth.rssBefore - values['get-port'].rssBefore;
  const firstMore = values.berth.first - values['get-port'].first;
  const withFirst = ratio(values.berth.growthWithFirst, values['get-port'].growthWithFirst);
  return {
    id: 'memory',
    title: '8. Memory',
    tables: [
      figureTable({
        title: `RSS of a fresh process after a first call and ${CALLS} more, zero-config (median of ${REPS} processes)`,
        libraries: LIBRARIES,
        values,
        metrics: [
          { key: 'rss', label: 'RSS after', unit: 'MB' },
          { key: 'rssBefore', label: 'RSS before the calls', unit: 'MB', ratio: false },
          { key: 'first', label: 'RSS growth at the first call', unit: 'MB', ratio: false },
          { key: 'growth', label: `RSS growth over the ${CALLS} calls after it`, unit: 'MB' },
          { key: 'heap', label: 'heap used after', unit: 'MB', ratio: false },
          { key: 'rssGc', label: 'RSS after a full GC', unit: 'MB' },
          { key: 'heapGc', label: 'heap used after a full GC', unit: 'MB', ratio: false },
          { key: 'errors', label: 'errors', ratio: false, format: (x) => String(x) },
          { key: 'falseResults', label: 'false results', ratio: false, format: (x) => String(x) },
          { key: 'micros', label: 'median call, ports kept', unit: 'us' },
        ],
      }),
    ],
    notes: [
      "Ports are kept, as a test suite keeps them (berth holds 2,001 leases at the end, and up to 10 more in its reserve). 'RSS before' is measured after importing the library, before the first call; the first call is measured apart: it is where each library sets up what it keeps (berth opens its registry there: SQLite's first open, its schema and statements). The 'after a full GC' columns (node --expose-gc, gc() after the calls) show live memory without garbage V8 had not collected yet. The target compares the growth over the 2,000 calls after the first (plain RSS after minus RSS after the first call); what berth's process has more before and at its first call is mostly SQLite, a fixed cost reported, not a target.",
      "'median call, ports kept': unlike section 1, no port is released, so berth's registry holds up to 2,000 leases of this process while it allocates.",
    ],
    targets: [
      target('memory', 'RSS growth over 2,000 calls <= get-port', r, 1, {
        shown: `${fmt(r)}x (berth +${fmt(values.berth.growth)} MB, get-port +${fmt(values['get-port'].growth)} MB; counting the first call too ${fmt(withFirst)}x; RSS after: berth ${fmt(values.berth.rss)} MB, get-port ${fmt(values['get-port'].rss)} MB; berth's fixed cost, SQLite's mostly: +${fmt(fixed)} MB before the first call, +${fmt(firstMore)} MB more at it)`,
      }),
    ],
    raw: { calls: CALLS, reps: REPS, runs },
  };
}
