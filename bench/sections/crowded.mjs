/**
 * 2. Crowded range: a child process listens on `::` on the lowest 900 ports of
 * a 1000-port range (the worst case for libraries that scan upward, and the
 * one the get-port baseline of ~33 ms reflects); each library is asked
 * 50 times for a port in that range. A port outside the range, or one that is
 * not bindable on all four addresses, is a false result.
 */
import { createPeer, LIBRARIES } from '../peers.mjs';
import { checkFree, findFreeBlock, startHolder } from '../support/ports.mjs';
import { figureTable, fmt, target } from '../support/report.mjs';
import { median, microsSince, ratio, rotate, summarize } from '../support/stats.mjs';

const RANGE_SIZE = 1000;
const HELD = 900;
const CALLS = 50;
const REPS = 3;

/** Finds a free 1000-port block and holds its lowest 900 ports in a child process. */
export async function crowdRange() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { min, max } = await findFreeBlock(RANGE_SIZE);
    const binds = Array.from({ length: HELD }, (_, i) => ({ port: min + i, host: '::' }));
    const holder = await startHolder(binds);
    if (holder.failed.length === 0) return { min, max, holder };
    await holder.stop();
  }
  throw new Error('could not hold 900 ports of a free 1000-port range');
}

async function measure(peer, range) {
  await peer.reset();
  const samples = [];
  const outcome = { outside: 0, notFree: 0, errors: 0 };
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    let port;
    try {
      port = await peer({ range: [range.min, range.max] });
    } catch {
      outcome.errors++;
      continue;
    }
    samples.push(microsSince(start));
    if (port < range.min || port > range.max) outcome.outside++;
    else if (!(await checkFree(port)).free) outcome.notFree++;
    await peer.release(port);
  }
  return { ...summarize(samples.map((us) => us / 1000)), ...outcome };
}

/** Runs the crowded-range section. */
export async function run(ctx) {
  const { min, max, holder } = await crowdRange();
  const range = { min, max };
  const home = ctx.tempDir('crowded');
  const reps = Object.fromEntries(LIBRARIES.map((lib) => [lib, []]));
  try {
    const peers = {};
    for (const lib of LIBRARIES) peers[lib] = await createPeer(lib, { home });
    for (let rep = 0; rep < REPS; rep++) {
      for (const lib of rotate(LIBRARIES, rep)) {
        const result = await measure(peers[lib], range);
        reps[lib].push(result);
        ctx.log(`crowded rep ${rep + 1} ${lib}: median ${fmt(result.median)} ms, outside ${result.outside}`);
      }
    }
  } finally {
    await holder.stop();
  }
  const values = {};
  for (const lib of LIBRARIES) {
    const runs = reps[lib];
    const sum = (key) => runs.reduce((a, r) => a + r[key], 0);
    values[lib] = {
      median: median(runs.map((r) => r.median)),
      p99: median(runs.map((r) => r.p99)),
      outside: sum('outside'),
      notFree: sum('notFree'),
      errors: sum('errors'),
    };
  }
  const count = (x) => String(x ?? '-');
  const r = ratio(values.berth.median, values['get-port'].median);
  return {
    id: 'crowded',
    title: '2. Crowded range',
    tables: [
      figureTable({
        title: `Crowded range: ${HELD} of ${RANGE_SIZE} ports held on ::, ${CALLS} calls x ${REPS} reps`,
        libraries: LIBRARIES,
        values,
        metrics: [
          { key: 'median', label: 'median', unit: 'ms' },
          { key: 'p99', label: 'p99', unit: 'ms' },
          { key: 'outside', label: 'outside the range', ratio: false, format: count },
          { key: 'notFree', label: 'not free', ratio: false, format: count },
          { key: 'errors', label: 'errors', ratio: false, format: count },
        ],
      }),
    ],
    notes: [
      `The held ports are the lowest ${HELD} of the range (${min}-${min + HELD - 1} of ${min}-${max}), so the free ones are the top ${RANGE_SIZE - HELD}: the worst case for libraries that scan upward.`,
      'detect-port has no range option: `detect(min)` tries min..min+9 and then takes any port the kernel hands out, so its answers land outside the range.',
      "berth reads the kernel's listening sockets once (/proc/net/tcp6 lists the 900 listeners) and confirms one port with one bind.",
    ],
    targets: [
      target('crowded range', '<= 0.05x get-port', r, 0.05, {
        shown: `${fmt(r, 3)}x (berth ${fmt(values.berth.median)} ms, get-port ${fmt(values['get-port'].median)} ms)`,
      }),
    ],
    raw: { range, held: HELD, calls: CALLS, reps: REPS, runs: reps },
  };
}
