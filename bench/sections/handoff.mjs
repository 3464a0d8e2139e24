/**
 * 12. Lock hand-off (issue #22): how long the registry's write lock takes to
 * pass from one process to the next. N processes each run T write transactions
 * back to back, all started at once, so the lock is always wanted; every
 * process records, on the system-wide monotonic clock, its transactions' first
 * and last statements. A hand-off is the time from the last statement of one
 * process's transaction to the first statement of the next process's: the
 * holder's COMMIT, its leaving the queue and waking the next, and the next
 * process being scheduled and taking the lock. Median over all hand-offs of a
 * run, then the median of the runs.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { findFreePorts } from '../support/ports.mjs';
import { fmt, target } from '../support/report.mjs';
import { median, percentile } from '../support/stats.mjs';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), '../support/handoff-worker.mjs');
const PROCESSES = 8;
const TURNS = 40;
const REPS = 5;
const LIMIT_MS = 1;

/**
 * One run: `processes` workers of the berth in `dist` (default: the harness's),
 * each `turns` transactions; returns the hand-offs in milliseconds.
 */
export async function handoffRun({ home, dist, processes = PROCESSES, turns = TURNS, pauseMs = 0 }) {
  const ports = await findFreePorts(processes);
  const env = dist ? { ...process.env, BERTH_BENCH_DIST: dist } : process.env;
  const workers = ports.map((port) => {
    const child = spawn(process.execPath, [WORKER, home, String(turns), String(port), String(pauseMs)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env,
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const lines = createInterface({ input: child.stdout });
    const next = () => new Promise((resolve) => lines.once('line', resolve));
    return { child, next, exited };
  });
  const ready = workers.map((w) => w.next());
  for (const line of await Promise.all(ready))
    if (line !== 'ready') throw new Error(`handoff worker: ${line}`);
  const results = workers.map((w) => w.next());
  for (const w of workers) w.child.stdin.write('go\n');
  const outs = (await Promise.all(results)).map((line) => JSON.parse(line));
  await Promise.all(workers.map((w) => w.exited));
  const turnsByStart = outs
    .flatMap((o) =>
      o.turns.map((t) => ({
        pid: o.pid,
        asked: BigInt(t.asked),
        start: BigInt(t.start),
        end: BigInt(t.end),
      })),
    )
    .sort((a, b) => (a.start < b.start ? -1 : 1));
  const gaps = [];
  for (let i = 1; i < turnsByStart.length; i++) {
    const before = turnsByStart[i - 1];
    const after = turnsByStart[i];
    // A hand-off: another process was already waiting when this transaction ended.
    if (after.pid !== before.pid && after.asked < before.end)
      gaps.push(Number(after.start - before.end) / 1e6);
  }
  return gaps;
}

/**
 * The two ways the lock changes hands: processes queued behind each other (the
 * holder's leaving the queue wakes the next), and a holder that took a free lock
 * without queueing while another process arrived (the holder's ring wakes it).
 */
const VARIANTS = [
  { name: `${PROCESSES} processes, back to back`, processes: PROCESSES, turns: TURNS, pauseMs: 0 },
  { name: '2 processes, 0-2 ms apart', processes: 2, turns: 400, pauseMs: 2 },
];

/** Runs the hand-off section. */
export async function run(ctx) {
  const runs = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const variant of VARIANTS) {
      const gaps = await handoffRun({ home: ctx.tempDir('handoff'), ...variant });
      runs[variant.name].push({ median: median(gaps), p90: percentile(gaps, 90), count: gaps.length });
      ctx.log(
        `handoff rep ${rep + 1} ${variant.name}: median ${fmt(median(gaps))} ms, p90 ${fmt(percentile(gaps, 90))} ms`,
      );
    }
  }
  const summary = VARIANTS.map((v) => ({
    name: v.name,
    median: median(runs[v.name].map((r) => r.median)),
    p90: median(runs[v.name].map((r) => r.p90)),
    count: runs[v.name].reduce((a, r) => a + r.count, 0),
  }));
  const worst = summary.reduce((a, b) => (b.median > a.median ? b : a));
  return {
    id: 'handoff',
    title: '12. Lock hand-off between processes',
    tables: [
      {
        title: `Lock hand-off: write transactions of several processes at once, ${REPS} runs each (median of the runs' medians and p90s)`,
        headers: ['scenario', 'median (ms)', 'p90 (ms)', 'hand-offs'],
        rows: summary.map((v) => [v.name, fmt(v.median), fmt(v.p90), String(v.count)]),
      },
    ],
    notes: [
      "A hand-off: from the last statement of one process's transaction to the first statement of the next process's, counted when that process already waited (its COMMIT, leaving the queue, waking the next waiter, the next process's scheduling, BEGIN IMMEDIATE and the batch's reclaim of dead owners), on the system-wide monotonic clock.",
      `"back to back": every process asks again at once, so they queue; "0-2 ms apart": one often takes the free lock without queueing while the other arrives. Each transaction leases a port and gives it back, so every COMMIT writes to the WAL.`,
    ],
    targets: [
      target('lock hand-off', `<= ${LIMIT_MS} ms median`, worst.median, LIMIT_MS, {
        shown: summary.map((v) => `${v.name}: ${fmt(v.median)} ms (p90 ${fmt(v.p90)})`).join('; '),
      }),
    ],
    raw: { runs },
  };
}
