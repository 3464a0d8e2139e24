/**
 * 3. Race: 16 processes at once, each asking 10 times for a port in a
 * 256-port range and binding it on `::` at once (`bind-each`) or after all ten
 * asks (`batch`); 5 trials per mode. Counted: ports handed out more than once
 * (hand-outs minus distinct ports), EADDRINUSE on bind, ports outside the
 * range. Then a range too small for the asks (64 ports, 160 asks): berth must
 * fail with E_NO_PORT and never leave the range; what each peer does is counted.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LIBRARIES } from '../peers.mjs';
import { findFreeBlock } from '../support/ports.mjs';
import { figureTable, target } from '../support/report.mjs';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), '../support/race-worker.mjs');
const PROCESSES = 16;
const ASKS = 10;
const TRIALS = 5;
const RANGE_SIZE = 256;
const SMALL_RANGE_SIZE = 64;
const SMALL_TRIALS = 3;
const MODES = ['bind-each', 'batch'];

function startWorker(lib) {
  const child = spawn(process.execPath, [WORKER, lib], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const queue = [];
  const waiting = [];
  lines.on('line', (line) => (waiting.length ? waiting.shift()(line) : queue.push(line)));
  const next = () =>
    new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiting.push(resolve)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const send = (line) => child.stdin.write(`${line}\n`);
  return { next, send, exited, stop: () => child.stdin.end() };
}

async function expect(worker, word) {
  const line = await worker.next();
  if (line !== word) throw new Error(`race worker said ${line.slice(0, 200)} instead of ${word}`);
}

/** One trial: every worker of the team asks at once; returns the tally. */
async function trial(team, spec) {
  for (const w of team) w.send(JSON.stringify(spec));
  for (const w of team) await expect(w, 'ready');
  for (const w of team) w.send('go');
  const outputs = await Promise.all(team.map(async (w) => JSON.parse(await w.next())));
  for (const w of team) w.send('end');
  for (const w of team) await expect(w, 'done');
  return tally(outputs.flat(), spec.range);
}

function tally(answers, [min, max]) {
  const handed = answers.filter((a) => a.port !== undefined);
  const errors = {};
  const messages = {};
  for (const a of answers) {
    if (a.error === undefined) continue;
    // portfinder's messages carry the range: fold numbers so equal failures count together.
    const key = a.error === 'no code' ? a.message.replace(/\d+/g, 'N').slice(0, 60) : a.error;
    errors[key] = (errors[key] ?? 0) + 1;
    messages[key] ??= a.message;
  }
  return {
    asks: answers.length,
    handed: handed.length,
    duplicates: handed.length - new Set(handed.map((a) => a.port)).size,
    eaddrinuse: handed.filter((a) => a.bind === 'EADDRINUSE').length,
    otherBindErrors: handed.filter((a) => a.bind !== 'ok' && a.bind !== 'EADDRINUSE').length,
    outside: handed.filter((a) => a.port < min || a.port > max).length,
    errors,
    messages,
  };
}

function add(total, t) {
  for (const key of ['asks', 'handed', 'duplicates', 'eaddrinuse', 'otherBindErrors', 'outside'])
    total[key] = (total[key] ?? 0) + t[key];
  total.errors ??= {};
  total.messages = { ...t.messages, ...total.messages };
  for (const [code, n] of Object.entries(t.errors)) total.errors[code] = (total.errors[code] ?? 0) + n;
  return total;
}

const errorText = (errors) =>
  Object.entries(errors ?? {})
    .map(([code, n]) => `${n} ${code.length > 40 ? `${code.slice(0, 40)}...` : code}`)
    .join(', ') || '0';

/** Runs the race section. */
export async function run(ctx) {
  const totals = Object.fromEntries(MODES.map((m) => [m, Object.fromEntries(LIBRARIES.map((l) => [l, {}]))]));
  const small = Object.fromEntries(LIBRARIES.map((l) => [l, {}]));
  const trials = [];
  // Per library, one team of 16 processes, started once and reused by all its trials
  // (one team at a time: 80 idle Node processes would crowd this machine's memory).
  for (const lib of LIBRARIES) {
    const team = Array.from({ length: PROCESSES }, () => startWorker(lib));
    try {
      for (let t = 0; t < TRIALS; t++) {
        for (const mode of MODES) {
          const { min, max } = await findFreeBlock(RANGE_SIZE);
          const result = await trial(team, {
            mode,
            home: ctx.tempDir('race'),
            range: [min, max],
            asks: ASKS,
          });
          add(totals[mode][lib], result);
          trials.push({ kind: 'race', trial: t, mode, lib, range: [min, max], ...result });
          ctx.log(
            `race ${lib} trial ${t + 1} ${mode}: ${result.duplicates} duplicates, ${result.eaddrinuse} EADDRINUSE, ${result.outside} outside, errors ${errorText(result.errors)}`,
          );
        }
      }
      for (let t = 0; t < SMALL_TRIALS; t++) {
        const { min, max } = await findFreeBlock(SMALL_RANGE_SIZE);
        const spec = { mode: 'bind-each', home: ctx.tempDir('race-small'), range: [min, max], asks: ASKS };
        const result = await trial(team, spec);
        add(small[lib], result);
        trials.push({ kind: 'small-range', trial: t, mode: 'bind-each', lib, range: [min, max], ...result });
        ctx.log(
          `race ${lib} small range trial ${t + 1}: ${result.handed} handed, ${result.outside} outside, errors ${errorText(result.errors)}`,
        );
      }
    } finally {
      for (const w of team) w.stop();
      await Promise.all(team.map((w) => w.exited));
    }
  }
  const count = (x) => String(x ?? '-');
  const tables = MODES.map((mode) =>
    figureTable({
      title: `Race, ${mode}: ${PROCESSES} processes x ${ASKS} asks in a ${RANGE_SIZE}-port range, ${TRIALS} trials (${PROCESSES * ASKS * TRIALS} asks)`,
      libraries: LIBRARIES,
      values: totals[mode],
      metrics: [
        { key: 'duplicates', label: 'handed out twice', ratio: false, format: count },
        { key: 'eaddrinuse', label: 'EADDRINUSE on bind', ratio: false, format: count },
        { key: 'outside', label: 'outside the range', ratio: false, format: count },
        { key: 'handed', label: 'ports handed out', ratio: false, format: count },
        { key: 'errors', label: 'errors', ratio: false, format: errorText },
      ],
    }),
  );
  tables.push(
    figureTable({
      title: `Range too small: ${PROCESSES} processes x ${ASKS} asks in a ${SMALL_RANGE_SIZE}-port range, bind-each, ${SMALL_TRIALS} trials (${PROCESSES * ASKS * SMALL_TRIALS} asks, at most ${SMALL_RANGE_SIZE * SMALL_TRIALS} can succeed)`,
      libraries: LIBRARIES,
      values: small,
      metrics: [
        { key: 'handed', label: 'ports handed out', ratio: false, format: count },
        { key: 'outside', label: 'outside the range', ratio: false, format: count },
        { key: 'duplicates', label: 'handed out twice', ratio: false, format: count },
        { key: 'eaddrinuse', label: 'EADDRINUSE on bind', ratio: false, format: count },
        { key: 'errors', label: 'errors', ratio: false, format: errorText },
      ],
    }),
  );
  const bad = (mode) =>
    totals[mode].berth.duplicates + totals[mode].berth.eaddrinuse + totals[mode].berth.outside;
  const b = small.berth;
  const smallOk =
    b.outside === 0 &&
    b.duplicates === 0 &&
    b.eaddrinuse === 0 &&
    (b.errors?.E_NO_PORT ?? 0) === b.asks - b.handed &&
    b.handed <= SMALL_RANGE_SIZE * SMALL_TRIALS;
  const berthErrors = [totals['bind-each'].berth, totals.batch.berth, small.berth].flatMap((t) =>
    Object.entries(t.messages ?? {}).filter(([code]) => code !== 'E_NO_PORT'),
  );
  const unexpected = berthErrors.map(([code, message]) => `berth failed with ${code}: "${message}"`);
  return {
    id: 'race',
    title: '3. Race between processes',
    tables,
    notes: [
      'Each trial uses a fresh 256-port (or 64-port) block confirmed free, and, for berth, a fresh registry shared by the 16 processes. Bound ports and leases are held until every process has reported.',
      '"handed out twice" = ports handed out minus distinct ports, across all processes of a trial, summed over trials.',
      'Peers that run out of range ports fall back to other ports: get-port to any port (port 0), get-port-please to a random port, detect-port to any port after min..min+9.',
      'Each library runs with one team of 16 processes reused across its trials (started once, told when to ask), so the figures are not dominated by Node start-up.',
      ...unexpected,
    ],
    targets: MODES.map((mode) =>
      target(`race, ${mode}`, '0 duplicates, 0 EADDRINUSE, 0 outside, every ask answered', bad(mode), 0, {
        shown: `${totals[mode].berth.duplicates} duplicates, ${totals[mode].berth.eaddrinuse} EADDRINUSE, ${totals[mode].berth.outside} outside; ${totals[mode].berth.handed} of ${totals[mode].berth.asks} asks answered${Object.keys(totals[mode].berth.errors ?? {}).length ? ` (errors: ${errorText(totals[mode].berth.errors)})` : ''}`,
      }),
    ).concat([
      {
        name: 'race, range too small',
        goal: 'E_NO_PORT, never outside the range',
        value: `${b.handed} handed, ${b.outside} outside, errors: ${errorText(b.errors)}`,
        met: smallOk,
        note: '',
      },
    ]),
    raw: { processes: PROCESSES, asks: ASKS, trials },
  };
}
