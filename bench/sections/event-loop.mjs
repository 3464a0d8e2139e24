/**
 * 7. Event-loop blocking: the longest stretch one call keeps the event loop
 * from running timers. A 1 ms interval timer records how late it fires (its
 * gap minus 1 ms); the figure for a call is the largest lateness between its
 * start and the first timer after it settles. The window covers the call and
 * the release of its port (berth's releasePort is a transaction too; the
 * peers' release does nothing). Scenarios: zero-config calls
 * back to back; the crowded range of section 2 back to back; and, for berth
 * only, the crowded range with calls 300 ms apart (berth caches the kernel's
 * socket table for 25 ms and refreshes it in the background for 250 ms more,
 * so sporadic calls read it synchronously; the peers keep no state between
 * calls, so spacing does not change theirs).
 *
 * The machine is shared: the OS preempting the process also makes the timer
 * late. The "no-op" row (an async function that only yields) shows that
 * floor; figures are medians over repetitions of each repetition's maximum.
 */
import { createPeer, LIBRARIES } from '../peers.mjs';
import { checkFree } from '../support/ports.mjs';
import { figureTable, fmt, target } from '../support/report.mjs';
import { median, percentile, rotate } from '../support/stats.mjs';
import { crowdRange } from './crowded.mjs';

const INTERVAL_MS = 1;
const REPS = 3;
const SCENARIOS = {
  'zero-config': { calls: 200, gapMs: 0 },
  crowded: { calls: 10, gapMs: 0 },
  'crowded, 300 ms apart': { calls: 10, gapMs: 300, only: ['berth', 'no-op'] },
};
const BLOCK_LIMIT_MS = 5;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function lateness() {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - INTERVAL_MS);
    last = now;
  }, INTERVAL_MS);
  return {
    reset() {
      max = 0;
      last = performance.now();
    },
    read: () => max,
    stop: () => clearInterval(timer),
  };
}

async function noop() {
  await new Promise((resolve) => setImmediate(resolve));
  return 0;
}
noop.release = async () => {};
noop.reset = async () => {};

async function measure(peer, { calls, gapMs }, opts, monitor) {
  await peer.reset();
  const blocks = [];
  let errors = 0;
  let falseResults = 0;
  for (let i = 0; i < calls; i++) {
    await sleep(Math.max(gapMs, 2));
    monitor.reset();
    let port = null;
    try {
      port = await peer(opts);
      // berth's releasePort commits a transaction too (and may meet SQLite's WAL checkpoint): it is in the window.
      await peer.release(port);
    } catch {
      errors++;
    }
    // Let the first timer after the call fire, so a stretch at the very end is seen.
    await sleep(2);
    blocks.push(Math.max(0, monitor.read()));
    // The no-op control returns no real port.
    if (port !== null && peer !== noop && !(await checkFree(port)).free) falseResults++;
  }
  return {
    max: Math.max(...blocks),
    p50: percentile(blocks, 50),
    over: blocks.filter((b) => b > BLOCK_LIMIT_MS).length,
    calls,
    errors,
    falseResults,
  };
}

/** Runs the event-loop section. */
export async function run(ctx) {
  const { min, max, holder } = await crowdRange();
  const home = ctx.tempDir('event-loop');
  const libs = [...LIBRARIES, 'no-op'];
  const runs = Object.fromEntries(
    libs.map((l) => [l, Object.fromEntries(Object.keys(SCENARIOS).map((s) => [s, []]))]),
  );
  const firstCall = {};
  const monitor = lateness();
  try {
    const peers = { 'no-op': noop };
    for (const lib of LIBRARIES) {
      peers[lib] = await createPeer(lib, { home });
      // The first call pays for lazy set-up (berth opens and migrates its registry): shown apart.
      await sleep(5);
      monitor.reset();
      const port = await peers[lib]();
      await sleep(2);
      firstCall[lib] = monitor.read();
      await peers[lib].release(port);
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const lib of rotate(libs, rep)) {
        for (const [name, scenario] of Object.entries(SCENARIOS)) {
          if (scenario.only && !scenario.only.includes(lib)) continue;
          const opts = name === 'zero-config' ? {} : { range: [min, max] };
          const result = await measure(peers[lib], scenario, opts, monitor);
          runs[lib][name].push(result);
          ctx.log(
            `event loop rep ${rep + 1} ${lib} ${name}: max ${fmt(result.max)} ms, p50 ${fmt(result.p50)} ms`,
          );
        }
      }
    }
  } finally {
    monitor.stop();
    await holder.stop();
  }
  const values = {};
  for (const lib of libs) {
    values[lib] = { first: firstCall[lib] };
    for (const name of Object.keys(SCENARIOS)) {
      const r = runs[lib][name];
      values[lib][`${name}.max`] = r.length ? median(r.map((x) => x.max)) : Number.NaN;
      values[lib][`${name}.worst`] = r.length ? Math.max(...r.map((x) => x.max)) : Number.NaN;
      values[lib][`${name}.p50`] = r.length ? median(r.map((x) => x.p50)) : Number.NaN;
      values[lib].falseResults = (values[lib].falseResults ?? 0) + r.reduce((a, x) => a + x.falseResults, 0);
      values[lib].errors = (values[lib].errors ?? 0) + r.reduce((a, x) => a + x.errors, 0);
    }
  }
  const ms = (name, label) => [
    { key: `${name}.max`, label: `${label} max`, unit: 'ms' },
    { key: `${name}.p50`, label: `${label} p50`, unit: 'ms', ratio: false },
  ];
  const berthWorst = Math.max(...Object.keys(SCENARIOS).map((s) => values.berth[`${s}.max`]));
  return {
    id: 'event-loop',
    title: '7. Event-loop blocking',
    tables: [
      figureTable({
        title: `Longest timer delay during one call (median over ${REPS} reps of each rep's max; p50 = typical call)`,
        libraries: libs,
        values,
        noRatio: ['no-op'],
        metrics: [
          ...ms('zero-config', 'zero-config'),
          ...ms('crowded', 'crowded'),
          ...ms('crowded, 300 ms apart', 'crowded 300 ms apart'),
          { key: 'first', label: 'first call', unit: 'ms', ratio: false },
          { key: 'falseResults', label: 'false results', ratio: false, format: (x) => String(x ?? '-') },
          { key: 'errors', label: 'errors', ratio: false, format: (x) => String(x ?? '-') },
        ],
      }),
    ],
    notes: [
      `Calls per rep: ${Object.entries(SCENARIOS)
        .map(([n, s]) => `${n} ${s.calls}`)
        .join(', ')}. The crowded range is section 2's (900 of 1000 ports held on ::).`,
      '"first call" is each library\'s very first call in the process (berth opens and migrates its registry then); it is not part of the other columns.',
      "Each window covers one call and the release of its port: berth's releasePort commits a transaction, and either commit may run SQLite's automatic WAL checkpoint (every 1,000 WAL pages, about every 170 getPort+releasePort pairs), which fsyncs.",
      `Worst single rep: ${libs
        .map(
          (l) =>
            `${l} ${Object.keys(SCENARIOS)
              .map((s) => fmt(values[l][`${s}.worst`]))
              .join('/')}`,
        )
        .join('; ')} ms (scenarios in table order).`,
    ],
    targets: [
      target('event loop', `no call blocks it > ${BLOCK_LIMIT_MS} ms`, berthWorst, BLOCK_LIMIT_MS, {
        shown: `${fmt(berthWorst)} ms (worst scenario, median of rep maxima; no-op floor ${fmt(values['no-op']['zero-config.max'])} ms; first call ${fmt(values.berth.first)} ms)`,
      }),
    ],
    raw: { reps: REPS, scenarios: SCENARIOS, runs, firstCall },
  };
}
