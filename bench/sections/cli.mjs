/**
 * 6. CLI start: wall time of `berth get server` in a project whose server is
 * already assigned (the steady state of `PORT=$(berth get server) npm start`),
 * against `node -e 0` (the floor every Node CLI pays), the same command without
 * its code cache (a first run), and detect-port's own CLI (`detect <port>`).
 * Runs are interleaved; medians of 20 each.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { distPath } from '../support/dist.mjs';
import { findFreePorts } from '../support/ports.mjs';
import { fmt, fmtRatio, target } from '../support/report.mjs';
import { median, percentile, ratio } from '../support/stats.mjs';

const RUNS = 20;
const WARMUP_RUNS = 3;

/** detect-port's `detect` bin, from its package.json (the package does not export that file). */
function detectBin() {
  const main = createRequire(import.meta.url).resolve('detect-port');
  const root = main.slice(
    0,
    main.lastIndexOf('/node_modules/detect-port/') + '/node_modules/detect-port'.length,
  );
  const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return join(root, typeof bin === 'string' ? bin : bin.detect);
}

function timed(args, options) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** Runs the CLI start-up section. */
export async function run(ctx) {
  const [serverPort, detectPort] = await findFreePorts(2);
  const root = ctx.tempDir('cli');
  const project = join(root, 'shop');
  const home = join(root, 'home');
  mkdirSync(project);
  writeFileSync(
    join(project, 'berth.config.json'),
    JSON.stringify({
      project: 'shop',
      services: { server: { preferred: [serverPort], requires: ['http'] } },
    }),
  );
  const env = { ...process.env, BERTH_HOME: home, NO_COLOR: '1' };
  delete env.BERTH_ENV;
  const cli = distPath('cli/main.js');
  const commands = {
    'node -e 0': { args: ['-e', '0'], options: {} },
    'berth get server': { args: [cli, 'get', 'server'], options: { cwd: project, env } },
    // What the first run after an install or a build pays (it also writes the cache).
    'berth get server, no code cache': {
      args: [cli, 'get', 'server'],
      options: { cwd: project, env: { ...env, NODE_DISABLE_COMPILE_CACHE: '1' } },
    },
    [`detect-port CLI (detect ${detectPort})`]: { args: [detectBin(), String(detectPort)], options: {} },
  };
  const first = timed(commands['berth get server'].args, commands['berth get server'].options);
  if (first.status !== 0) throw new Error(`berth get server failed: ${first.stderr}`);
  const names = Object.keys(commands);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  let wrongAnswers = 0;
  for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
    for (const name of names) {
      const { args, options } = commands[name];
      const result = timed(args, options);
      if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr}`);
      if (name.startsWith('berth get server') && result.stdout !== String(serverPort)) wrongAnswers++;
      if (i >= WARMUP_RUNS) samples[name].push(result.ms);
    }
  }
  const values = Object.fromEntries(
    names.map((n) => [n, { median: median(samples[n]), p90: percentile(samples[n], 90) }]),
  );
  const berth = values['berth get server'].median;
  const floor = values['node -e 0'].median;
  const detect = values[names.at(-1)].median;
  ctx.log(`cli: berth ${fmt(berth)} ms, node -e 0 ${fmt(floor)} ms, detect ${fmt(detect)} ms`);
  const vsFloor = ratio(berth, floor);
  return {
    id: 'cli',
    title: '6. CLI start',
    tables: [
      {
        title: `Wall time of one run, ${RUNS} interleaved runs each (ms)`,
        headers: ['command', 'median (ms)', 'p90 (ms)', 'berth get server / this'],
        rows: names.map((n) => [
          n,
          fmt(values[n].median),
          fmt(values[n].p90),
          n === 'berth get server' ? '' : fmtRatio(ratio(berth, values[n].median)),
        ]),
      },
    ],
    notes: [
      `\`berth get server\` runs in a temp project with a berth.config.json of one service, a temp BERTH_HOME, already assigned (steady state); every run printed ${serverPort}${wrongAnswers ? ` except ${wrongAnswers}` : ''}.`,
      'Times include spawning the process (spawnSync from the bench process).',
      "The bin runs the CLI from V8's code cache (`$XDG_CACHE_HOME/berth`, the user's own), which the untimed first run writes; `NODE_DISABLE_COMPILE_CACHE=1` runs without it, as the first run after an install or a build does.",
    ],
    targets: [
      target('CLI start', '`berth get server` <= 1.4x `node -e 0`', vsFloor, 1.4, {
        shown: `${fmt(vsFloor)}x (${fmt(berth)} ms vs ${fmt(floor)} ms; detect-port CLI ${fmt(detect)} ms)`,
      }),
    ],
    raw: { runs: RUNS, samples },
  };
}
