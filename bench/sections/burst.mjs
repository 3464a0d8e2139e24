/**
 * 10. Burst (issues #8, #22): N processes x M calls at once in each
 * (`Promise.all`), the way parallel test workers ask: 1x500, 8x50, 16x50, 32x25
 * and 64x10, each zero-config, in a 1,500-port range, and with a preferred port
 * (the same one for every call, so all but one fall back); and 16x4 and 64x1
 * zero-config (a few ports per worker, where get-port's answer is one bind of
 * port 0). Every port is bound on `::` the moment it arrives. Measured from `go`
 * (sent to every process at once, after each has imported its library) to the
 * last answer; both libraries' teams are up at once and their trials alternate
 * (rep by rep, the other library first every other rep), so load drifting on
 * this shared machine hits both alike; median of the repetitions. berth's
 * registry exists before `go`, as on any machine that has used berth once.
 * Counted: ports handed out twice, EADDRINUSE on bind, ports outside the range,
 * errors; and the event loop's longest stall in any process during its calls.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { distUrl } from '../support/dist.mjs';
import { findFreeBlock } from '../support/ports.mjs';
import { fmt, fmtRatio, target } from '../support/report.mjs';
import { median, ratio, rotate } from '../support/stats.mjs';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), '../support/burst-worker.mjs');
const LIBS = ['berth', 'get-port'];
const MODES = ['zero-config', 'range', 'preferred'];
/**
 * [processes, calls per process, modes]. `BURST_SCENARIOS=8x20,16x4` runs those instead
 * (zero-config only), for a figure the table does not have: an ad-hoc run, whose results
 * file and RESULTS.md then hold only those (keep them out of a commit).
 */
const SCENARIOS = process.env.BURST_SCENARIOS
  ? process.env.BURST_SCENARIOS.split(',').map((s) => [...s.split('x').map(Number), ['zero-config']])
  : [
      [1, 500, MODES],
      [8, 50, MODES],
      [16, 50, MODES],
      [32, 25, MODES],
      [64, 10, MODES],
      [16, 4, ['zero-config']],
      [64, 1, ['zero-config']],
    ];
/** Single runs swing 1.5-2x on this machine: at least 5, interleaved (#22). */
const REPS = Number(process.env.BURST_REPS ?? 5);
const RANGE_SIZE = 1500;
const WALL_LIMIT = 1;
const STALL_LIMIT_MS = 5;
/** Processes per team whose event loop is watched. */
const WATCHED = 4;

/** One worker process of `lib`; `env` replaces the harness's (another build of berth: BERTH_BENCH_DIST). */
export function startWorker(lib, home, env = process.env) {
  const child = spawn(process.execPath, [WORKER, lib, home], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const queue = [];
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) =>
    waiting.length ? waiting.shift()(line) : queue.push(line),
  );
  const next = () =>
    new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiting.push(resolve)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { next, send: (line) => child.stdin.write(`${line}\n`), exited, stop: () => child.stdin.end() };
}

export async function expectLine(worker, word) {
  const line = await worker.next();
  if (line !== word) throw new Error(`burst worker said ${line.slice(0, 200)} instead of ${word}`);
}

/** One trial: every worker asks at once; returns the wall time and the tally. */
export async function trial(team, spec, range) {
  // The event loop is watched in at most WATCHED processes of the team (see burst-worker.mjs).
  const every = Math.ceil(team.length / WATCHED);
  for (const [i, w] of team.entries()) w.send(JSON.stringify({ ...spec, watch: i % every === 0 }));
  for (const w of team) await expectLine(w, 'ready');
  const replies = team.map((w) => w.next());
  const go = performance.now();
  for (const w of team) w.send('go');
  const outs = await Promise.all(
    replies.map((p) => p.then((line) => ({ ...JSON.parse(line), at: performance.now() - go }))),
  );
  const wallMs = Math.max(...outs.map((o) => o.at));
  for (const w of team) w.send('end');
  for (const w of team) await expectLine(w, 'done');
  const answers = outs.flatMap((o) => o.answers);
  const ports = answers.filter((a) => a.port !== undefined);
  const errors = {};
  for (const a of answers) if (a.error !== undefined) errors[a.error] = (errors[a.error] ?? 0) + 1;
  return {
    wallMs,
    stallMs: Math.max(...outs.flatMap((o) => (o.stallMs === null ? [] : [o.stallMs]))),
    importMs: median(outs.map((o) => o.importMs)),
    asks: answers.length,
    duplicates: ports.length - new Set(ports.map((a) => a.port)).size,
    eaddrinuse: ports.filter((a) => a.bind === 'EADDRINUSE').length,
    outside: range ? ports.filter((a) => a.port < range[0] || a.port > range[1]).length : 0,
    errors,
  };
}

/** Creates berth's registry in `home` before the burst, as any machine that ran berth once has it. */
export async function warmRegistry(home) {
  const { getPort, releasePort } = await import(distUrl('index.js'));
  await releasePort(await getPort({ home }), { home });
}

/** Runs the burst section. */
export async function run(ctx) {
  const results = {};
  for (const [n, m, modes] of SCENARIOS) {
    const teams = {};
    try {
      for (const lib of LIBS) {
        const home = ctx.tempDir('burst');
        if (lib === 'berth') await warmRegistry(home);
        teams[lib] = Array.from({ length: n }, () => startWorker(lib, home));
      }
      for (const lib of LIBS) for (const w of teams[lib]) await expectLine(w, 'started');
      // One untimed trial each: a process's first call opens the registry (berth) and loads
      // the rest of its code; the timed trials measure processes that have asked before.
      for (const lib of LIBS) await trial(teams[lib], { calls: m, options: {} }, null);
      for (const mode of modes) {
        const key = `${n}x${m} ${mode}`;
        results[key] = Object.fromEntries(LIBS.map((lib) => [lib, []]));
        for (let rep = 0; rep < REPS; rep++) {
          for (const lib of rotate(LIBS, rep)) {
            const block = await findFreeBlock(RANGE_SIZE);
            const range = [block.min, block.max];
            const options = mode === 'zero-config' ? {} : mode === 'range' ? { range } : { port: block.min };
            const result = await trial(teams[lib], { calls: m, options }, mode === 'range' ? range : null);
            results[key][lib].push(result);
            ctx.log(
              `burst ${key} ${lib} rep ${rep + 1}: ${fmt(result.wallMs)} ms, stall ${fmt(result.stallMs)} ms, ${result.duplicates} dup, ${result.eaddrinuse} EADDRINUSE, ${result.outside} outside, errors ${JSON.stringify(result.errors)}`,
            );
          }
        }
      }
    } finally {
      const all = Object.values(teams).flat();
      for (const w of all) w.stop();
      await Promise.all(all.map((w) => w.exited));
    }
  }
  return report(results);
}

function report(results) {
  const rows = [];
  const targets = [];
  const sum = (runs, key) => runs.reduce((a, r) => a + r[key], 0);
  const errorCount = (runs) =>
    runs.reduce((a, r) => a + Object.values(r.errors).reduce((x, y) => x + y, 0), 0);
  let worstStall = 0;
  for (const [key, byLib] of Object.entries(results)) {
    const b = byLib.berth;
    const g = byLib['get-port'];
    const bWall = median(b.map((r) => r.wallMs));
    const gWall = median(g.map((r) => r.wallMs));
    const bStall = median(b.map((r) => r.stallMs));
    worstStall = Math.max(worstStall, bStall);
    rows.push([
      key,
      fmt(bWall),
      fmt(gWall),
      fmtRatio(ratio(bWall, gWall)),
      fmt(bStall),
      fmt(median(g.map((r) => r.stallMs))),
      `${sum(b, 'duplicates')} / ${sum(g, 'duplicates')}`,
      `${sum(b, 'eaddrinuse')} / ${sum(g, 'eaddrinuse')}`,
      `${sum(b, 'outside')} / ${sum(g, 'outside')}`,
      `${errorCount(b)} / ${errorCount(g)}`,
    ]);
    const bad = sum(b, 'duplicates') + sum(b, 'eaddrinuse') + sum(b, 'outside') + errorCount(b);
    targets.push(
      target(
        `burst ${key}`,
        `<= ${WALL_LIMIT}x get-port, 0 dup / EADDRINUSE / outside / errors`,
        bad === 0 ? ratio(bWall, gWall) : Number.NaN,
        WALL_LIMIT,
        {
          shown: `${fmtRatio(ratio(bWall, gWall))} (${fmt(bWall)} vs ${fmt(gWall)} ms)${bad ? `; ${bad} bad answers` : ''}`,
        },
      ),
    );
  }
  const imports = Object.values(results)[0];
  targets.push(
    target(
      'burst, longest event-loop stall per process',
      `<= ${STALL_LIMIT_MS} ms in every scenario`,
      worstStall,
      STALL_LIMIT_MS,
      {
        shown: `${fmt(worstStall)} ms (worst scenario median)`,
      },
    ),
  );
  return {
    id: 'burst',
    title: '10. Burst: many processes, many calls at once',
    tables: [
      {
        title: `Burst: N processes x M calls at once, wall time from go to the last answer (median of ${REPS} interleaved runs)`,
        headers: [
          'scenario',
          'berth (ms)',
          'get-port (ms)',
          'berth / get-port',
          'berth stall (ms)',
          'get-port stall (ms)',
          'dup (berth / get-port)',
          'EADDRINUSE',
          'outside range',
          'errors',
        ],
        rows,
      },
    ],
    notes: [
      'Each process imports its library before go; the import takes ' +
        `${fmt(median(imports.berth.map((r) => r.importMs)))} ms for berth (it loads better-sqlite3, node:net and reads the ephemeral range at import) and ${fmt(median(imports['get-port'].map((r) => r.importMs)))} ms for get-port (node:net, node:os).`,
      '"preferred": every call of every process prefers the same port; one gets it, the rest fall back (berth: the pool; get-port: a random port).',
      `"stall": the event loop's longest pause while a process's calls run: a 1 ms timer's lateness, counted only as far as the process used CPU meanwhile (time the OS gives the other processes of the burst does not count), in ${WATCHED} processes of each team.`,
      'get-port checks a port and hands it out without holding it: its duplicates are ports two processes received at once.',
    ],
    targets,
    raw: results,
  };
}
