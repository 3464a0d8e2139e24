/**
 * 1. Latency: 2000 sequential calls zero-config, and 2000 with a free
 * preferred port (a different one each call), per library, the libraries
 * interleaved call by call; median and p99 in microseconds. Every returned port is checked free on all four addresses
 * outside the timed region; berth's ports are released there too, so its
 * registry does not fill up (its figure includes leasing the port in SQLite).
 */
import { createPeer, LIBRARIES } from '../peers.mjs';
import { checkFree, findFreePorts } from '../support/ports.mjs';
import { figureTable, fmt, target } from '../support/report.mjs';
import { median, microsSince, ratio, seededRandom, shuffled, summarize } from '../support/stats.mjs';

const CALLS = 2000;
const WARMUP_CALLS = 100;
const REPS = 3;
const SPORADIC = 'zero-config, 300 ms apart';
/**
 * The back-to-back modes again, with one turn of the event loop (a `setImmediate`,
 * untimed) after each call of every library: what a caller that does any I/O between
 * two calls gives the library. berth tops its zero-config reserve up in such a turn.
 */
const IDLE = ', a turn of the event loop between calls';
const MODES = ['zero-config', 'preferred', `zero-config${IDLE}`, `preferred${IDLE}`, SPORADIC];
/**
 * The sporadic mode: how a test suite calls getPort (once per file or
 * worker), not back to back. 300 ms is past berth's 25 + 250 ms reuse of its
 * read of the kernel's socket table, so every berth call there reads it anew.
 */
const SPORADIC_GAP_MS = 300;
const SPORADIC_CALLS = 15;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One repetition of one mode for every library, interleaved call by call
 * (round i asks each library once), so every library meets the same machine
 * conditions: on this shared machine the load drifts within a run too, and
 * measuring the libraries one after the other let that drift decide the ratios.
 * Each round draws a new order (seeded: the same in every run). An order
 * rotated each round kept every library behind the same neighbour, and a call
 * right after detect-port's took up to twice as long whoever made it (#22,
 * bench/ANALYSIS.md): berth was always that call.
 */
async function measureRound(peers, mode, preferredPorts, seed) {
  const random = seededRandom(seed);
  const out = {};
  for (const lib of LIBRARIES) {
    await peers[lib].reset();
    out[lib] = { samples: [], falseResults: 0, errors: 0, movedOff: 0 };
  }
  const sporadic = mode === SPORADIC;
  const warmup = sporadic ? 1 : WARMUP_CALLS;
  for (let i = 0; i < warmup + (sporadic ? SPORADIC_CALLS : CALLS); i++) {
    if (sporadic) await sleep(SPORADIC_GAP_MS);
    const wanted = mode.startsWith('preferred') ? preferredPorts[i] : undefined;
    for (const lib of shuffled(LIBRARIES, random)) {
      const peer = peers[lib];
      const tally = out[lib];
      const start = process.hrtime.bigint();
      let port;
      try {
        port = await peer(wanted === undefined ? {} : { port: wanted });
      } catch {
        if (i >= warmup) tally.errors++;
        continue;
      }
      const micros = microsSince(start);
      if (i >= warmup) {
        tally.samples.push(micros);
        if (!(await checkFree(port)).free) tally.falseResults++;
        if (wanted !== undefined && port !== wanted) tally.movedOff++;
      }
      await peer.release(port);
      if (mode.endsWith(IDLE)) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  for (const lib of LIBRARIES) {
    const { samples, ...counts } = out[lib];
    out[lib] = { ...summarize(samples), ...counts };
  }
  return out;
}

/** Runs the latency section. */
export async function run(ctx) {
  const preferredPorts = await findFreePorts(WARMUP_CALLS + CALLS);
  const home = ctx.tempDir('latency');
  const peers = {};
  for (const lib of LIBRARIES) peers[lib] = await createPeer(lib, { home });
  const reps = Object.fromEntries(
    LIBRARIES.map((lib) => [lib, Object.fromEntries(MODES.map((m) => [m, []]))]),
  );
  for (let rep = 0; rep < REPS; rep++) {
    for (const mode of MODES) {
      const round = await measureRound(
        peers,
        mode,
        preferredPorts,
        rep * MODES.length + MODES.indexOf(mode) + 1,
      );
      for (const lib of LIBRARIES) reps[lib][mode].push(round[lib]);
      ctx.log(
        `latency rep ${rep + 1} ${mode}: ${LIBRARIES.map((lib) => `${lib} ${fmt(round[lib].median)} us`).join(', ')}`,
      );
    }
  }
  const values = {};
  for (const lib of LIBRARIES) {
    const v = {};
    for (const mode of MODES) {
      const runs = reps[lib][mode];
      v[`${mode}.median`] = median(runs.map((r) => r.median));
      v[`${mode}.p99`] = median(runs.map((r) => r.p99));
      v[`${mode}.mean`] = median(runs.map((r) => r.mean));
      v[`${mode}.false`] = runs.reduce((a, r) => a + r.falseResults, 0);
      v[`${mode}.errors`] = runs.reduce((a, r) => a + r.errors, 0);
      v[`${mode}.moved`] = runs.reduce((a, r) => a + r.movedOff, 0);
    }
    values[lib] = v;
  }
  const count = (x) => String(x ?? '-');
  const tables = MODES.map((mode) =>
    figureTable({
      title:
        mode === SPORADIC
          ? `Latency, ${mode}: ${SPORADIC_CALLS} calls per library, one round of calls every ${SPORADIC_GAP_MS} ms, x ${REPS} reps (no target; how test suites call)`
          : `Latency, ${mode}: ${CALLS} sequential calls x ${REPS} reps (median of the reps' medians and p99s)`,
      libraries: LIBRARIES,
      values,
      metrics: [
        { key: `${mode}.median`, label: 'median', unit: 'us' },
        { key: `${mode}.p99`, label: 'p99', unit: 'us' },
        { key: `${mode}.mean`, label: 'mean', unit: 'us' },
        { key: `${mode}.false`, label: 'false results', ratio: false, format: count },
        { key: `${mode}.errors`, label: 'errors', ratio: false, format: count },
        ...(mode.startsWith('preferred')
          ? [{ key: `${mode}.moved`, label: 'not the preferred port', ratio: false, format: count }]
          : []),
      ],
    }),
  );
  const zero = ratio(values.berth['zero-config.median'], values['get-port']['zero-config.median']);
  const pref = ratio(values.berth['preferred.median'], values['get-port']['preferred.median']);
  // Each repetition's own ratio, to show how much the figure moves on this shared machine.
  const perRep = (mode) =>
    reps.berth[mode].map((r, k) => fmt(ratio(r.median, reps['get-port'][mode][k].median))).join(', ');
  return {
    id: 'latency',
    title: '1. Latency',
    tables,
    notes: [
      'The libraries are interleaved call by call (each round asks every library once, in an order drawn anew each round: seeded, so every run draws the same), so load drifting on this shared machine hits them alike, and no library always runs right after the same one.',
      `Preferred ports: ${CALLS + WARMUP_CALLS} distinct ports confirmed free beforehand, in 30000-32767 and 61000-65535 (outside the ephemeral range, berth's pool and the test suite's band); ${WARMUP_CALLS} untimed warm-up calls per run.`,
      "berth's figure includes leasing the port in its SQLite registry (one BEGIN IMMEDIATE transaction) and one confirming bind; its port is released after each call, outside the timed region.",
      '"false results" counts returned ports that were not bindable on all of ::, 0.0.0.0, 127.0.0.1 and ::1 right after the call, summed over the reps.',
    ],
    targets: [
      target('zero-config latency', '<= 0.35x get-port', zero, 0.35, {
        shown: `${fmt(zero)}x (berth ${fmt(values.berth['zero-config.median'])} us, get-port ${fmt(values['get-port']['zero-config.median'])} us; reps ${perRep('zero-config')})`,
      }),
      target('preferred-port latency', '<= 0.5x get-port', pref, 0.5, {
        shown: `${fmt(pref)}x (berth ${fmt(values.berth['preferred.median'])} us, get-port ${fmt(values['get-port']['preferred.median'])} us; reps ${perRep('preferred')})`,
      }),
      ...['zero-config', 'preferred'].flatMap((mode) => {
        const p99Of = (m) => ratio(values.berth[`${m}.p99`], values['get-port'][`${m}.p99`]);
        const spreadOf = (m) => ratio(values.berth[`${m}.mean`], values.berth[`${m}.median`]);
        const idle = `${mode}${IDLE}`;
        return [
          target(`${mode} p99`, "<= get-port's p99", p99Of(mode), 1, {
            shown: `${fmt(p99Of(mode))}x (berth ${fmt(values.berth[`${mode}.p99`])} us, get-port ${fmt(values['get-port'][`${mode}.p99`])} us; with a turn of the event loop between calls ${fmt(p99Of(idle))}x)`,
          }),
          target(`${mode} mean`, "<= 1.5x berth's median", spreadOf(mode), 1.5, {
            shown: `${fmt(spreadOf(mode))}x (mean ${fmt(values.berth[`${mode}.mean`])} us, median ${fmt(values.berth[`${mode}.median`])} us; with a turn of the event loop between calls ${fmt(spreadOf(idle))}x)`,
          }),
        ];
      }),
    ],
    raw: { calls: CALLS, reps: REPS, preferredPorts: { count: preferredPorts.length }, runs: reps },
  };
}
