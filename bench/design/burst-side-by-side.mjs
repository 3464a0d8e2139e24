/**
 * Builds of berth side by side in the burst section's scenarios, with get-port in the
 * same rotation: how #22's burst changes were kept. Each build (a dist/ folder) and
 * get-port get a team of worker processes (bench/support/burst-worker.mjs), all up at
 * once; after one untimed trial each, the teams' trials alternate, the order rotated
 * each repetition, so load drifting on a shared machine hits all alike.
 *
 *   node bench/design/burst-side-by-side.mjs [--reps 7] [--mode zero-config|preferred|range] \
 *     --scenarios 64x10,32x25 [--age 11] before=/tmp/before/dist after=dist
 *
 * `--age S`: wait S seconds after the untimed trial, so the teams' owners are older than
 * the reclaim's trust window (10 s) when the timed trials start, as in the bench's later
 * modes and in any test run that lasts: every batch's sweep then checks owners in full.
 *
 * Prints per scenario the median wall time from `go` to the last answer of each team,
 * its ratio to get-port's, and the bad answers (duplicates, EADDRINUSE, errors).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { expectLine, startWorker, trial, warmRegistry } from '../sections/burst.mjs';
import { findFreeBlock } from '../support/ports.mjs';
import { median } from '../support/stats.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reps: { type: 'string', default: '7' },
    mode: { type: 'string', default: 'zero-config' },
    scenarios: { type: 'string', default: '64x10,32x25,16x4,64x1' },
    age: { type: 'string', default: '0' },
  },
});
const builds = positionals.map((arg) => {
  const [name, dir] = arg.split('=');
  return { name, dir: resolve(dir) };
});
if (builds.length === 0) {
  console.error(
    'usage: burst-side-by-side.mjs [--reps N] [--mode zero-config|preferred|range] [--scenarios 64x10,...] name=DIST ...',
  );
  process.exit(2);
}
const teams = [...builds, { name: 'get-port', dir: null }];
const homes = [];

for (const scenario of values.scenarios.split(',')) {
  const [n, m] = scenario.split('x').map(Number);
  const workers = new Map();
  for (const team of teams) {
    const home = mkdtempSync(join(tmpdir(), 'berth-burst-sbs-'));
    homes.push(home);
    const env = { ...process.env };
    if (team.dir) {
      env.BERTH_BENCH_DIST = team.dir;
      process.env.BERTH_BENCH_DIST = team.dir;
      await warmRegistry(home);
    }
    workers.set(
      team.name,
      Array.from({ length: n }, () => startWorker(team.dir ? 'berth' : 'get-port', home, env)),
    );
  }
  for (const team of workers.values()) for (const w of team) await expectLine(w, 'started');
  for (const team of workers.values()) await trial(team, { calls: m, options: {} }, null);
  await new Promise((resolve) => setTimeout(resolve, Number(values.age) * 1000));
  const walls = new Map(teams.map((t) => [t.name, []]));
  const bad = new Map(teams.map((t) => [t.name, 0]));
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (let i = 0; i < teams.length; i++) {
      const team = teams[(i + rep) % teams.length];
      const block = await findFreeBlock(1500);
      const options =
        values.mode === 'preferred'
          ? { port: block.min }
          : values.mode === 'range'
            ? { range: [block.min, block.max] }
            : {};
      const out = await trial(workers.get(team.name), { calls: m, options }, null);
      walls.get(team.name).push(out.wallMs);
      const errors = Object.values(out.errors).reduce((a, x) => a + x, 0);
      bad.set(team.name, bad.get(team.name) + out.duplicates + out.eaddrinuse + errors);
    }
  }
  const base = median(walls.get('get-port'));
  const cells = teams.map((t) => {
    const wall = median(walls.get(t.name));
    return `${t.name} ${wall.toFixed(1)} ms (${(wall / base).toFixed(2)}x, bad ${bad.get(t.name)})`;
  });
  console.log(`${scenario} ${values.mode}: ${cells.join(' | ')}`);
  const all = [...workers.values()].flat();
  for (const w of all) w.stop();
  await Promise.all(all.map((w) => w.exited));
}
for (const home of homes) rmSync(home, { recursive: true, force: true });
