/**
 * 11. etcd (issue #13): berth's registry on etcd beside SQLite, on this machine's
 * loopback: one member and three (etcd's default election timing, fsync on).
 * - sequential latency: getPort() calls one after the other, zero-config (drawn from the
 *   8-port reserve, so most calls commit nothing) and with a range (every call one
 *   commit), each port released outside the timed region;
 * - bursts: N processes x M zero-config calls at once (8x50, 32x25), timed from `go` (each
 *   process has imported berth; its first call opens the registry and connects);
 * - a leader change: one process leases and releases (getPort({ range }), releasePort)
 *   back to back while the leader of three members is SIGKILLed: the slowest pair, and
 *   errors (none expected).
 * Skipped, with a note, when `etcd` is not on PATH (apt install etcd-server).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { distUrl } from '../support/dist.mjs';
import { etcdOnPath, startEtcd } from '../support/etcd-cluster.mjs';
import { findFreeBlock } from '../support/ports.mjs';
import { fmt, target } from '../support/report.mjs';
import { median, microsSince, summarize } from '../support/stats.mjs';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), '../support/burst-worker.mjs');
const SEQUENTIAL_CALLS = Number(process.env.ETCD_BENCH_CALLS ?? 400);
const BURSTS = [
  [8, 50],
  [32, 25],
];
const REPS = 2;
/** How long the leader-change run calls getPort after the kill, in ms. */
const AFTER_KILL_MS = 3_000;

/** Runs `fn` with BERTH_REGISTRY set (the getPort context of a new home reads it when created). */
async function withRegistry(url, fn) {
  const saved = process.env.BERTH_REGISTRY;
  if (url) process.env.BERTH_REGISTRY = url;
  else delete process.env.BERTH_REGISTRY;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.BERTH_REGISTRY;
    else process.env.BERTH_REGISTRY = saved;
  }
}

async function sequential(ctx, url) {
  const { getPort, releasePort } = await import(distUrl('index.js'));
  const home = ctx.tempDir('etcd-seq');
  const block = await findFreeBlock(1000);
  const out = {};
  await withRegistry(url, async () => {
    for (const mode of ['zero-config', 'range']) {
      const samples = [];
      for (let i = 0; i < SEQUENTIAL_CALLS + 20; i++) {
        const start = process.hrtime.bigint();
        const port = await getPort(mode === 'range' ? { home, range: [block.min, block.max] } : { home });
        const micros = microsSince(start);
        if (i >= 20) samples.push(micros);
        await releasePort(port, { home });
      }
      out[mode] = summarize(samples);
    }
  });
  return out;
}

function startWorker(home, url) {
  const env = { ...process.env };
  if (url) env.BERTH_REGISTRY = url;
  else delete env.BERTH_REGISTRY;
  const child = spawn(process.execPath, [WORKER, 'berth', home], { env, stdio: ['pipe', 'pipe', 'inherit'] });
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

async function burst(ctx, url, n, m) {
  const home = ctx.tempDir('etcd-burst');
  const team = Array.from({ length: n }, () => startWorker(home, url));
  const runs = [];
  try {
    for (const w of team) if ((await w.next()) !== 'started') throw new Error('burst worker did not start');
    for (let rep = 0; rep < REPS; rep++) {
      for (const w of team) w.send(JSON.stringify({ calls: m, options: {}, watch: false }));
      for (const w of team) await w.next();
      const go = performance.now();
      const replies = team.map((w) =>
        w.next().then((line) => ({ ...JSON.parse(line), at: performance.now() - go })),
      );
      for (const w of team) w.send('go');
      const outs = await Promise.all(replies);
      for (const w of team) w.send('end');
      for (const w of team) await w.next();
      const answers = outs.flatMap((o) => o.answers);
      const ports = answers.filter((a) => a.port !== undefined).map((a) => a.port);
      runs.push({
        wallMs: Math.max(...outs.map((o) => o.at)),
        asks: answers.length,
        duplicates: ports.length - new Set(ports).size,
        errors: answers.filter((a) => a.error !== undefined).length,
      });
      const failed = answers.find((a) => a.error !== undefined);
      if (failed) ctx.log(`etcd burst ${n}x${m}: first error ${failed.error}: ${failed.message}`);
      ctx.log(
        `etcd burst ${n}x${m} ${url ? url.split('/').pop() : 'sqlite'} rep ${rep + 1}: ${fmt(runs.at(-1).wallMs)} ms`,
      );
    }
  } finally {
    for (const w of team) w.stop();
    await Promise.all(team.map((w) => w.exited));
  }
  return runs;
}

async function leaderChange(ctx, cluster) {
  const { getPort, releasePort } = await import(distUrl('index.js'));
  const home = ctx.tempDir('etcd-leader');
  const block = await findFreeBlock(1000);
  const range = [block.min, block.max];
  const calls = [];
  let errors = 0;
  let killedAt = null;
  await withRegistry(cluster.url('bench-leader'), async () => {
    // Warm: connected, mirror loaded.
    await releasePort(await getPort({ home, range }), { home });
    const leader = await cluster.leader();
    const killer = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      killedAt = performance.now();
      await cluster.stop(leader, 'SIGKILL');
    })();
    while (killedAt === null || performance.now() - killedAt < AFTER_KILL_MS) {
      // A call is a lease and its release: both are commits, and either may meet the election.
      const t = performance.now();
      try {
        const port = await getPort({ home, range });
        await releasePort(port, { home });
        calls.push({ at: t, ms: performance.now() - t });
      } catch (error) {
        errors++;
        ctx.log(`leader change: ${error.code} ${error.message}`);
      }
    }
    await killer;
    await cluster.start(leader);
  });
  const before = calls.filter((c) => c.at < killedAt).map((c) => c.ms);
  const after = calls.filter((c) => c.at + c.ms >= killedAt);
  return {
    beforeMedianMs: median(before),
    slowestMs: Math.max(...after.map((c) => c.ms)),
    callsAfterKill: after.length,
    errors,
  };
}

/** Runs the etcd section. */
export async function run(ctx) {
  if (!etcdOnPath()) {
    return {
      id: 'etcd',
      title: '11. etcd registry',
      tables: [],
      notes: ['skipped: no `etcd` on PATH (apt install etcd-server, or brew install etcd).'],
      targets: [],
      raw: { skipped: true },
    };
  }
  const one = await startEtcd(1, ctx.tempDir('etcd1'));
  const three = await startEtcd(3, ctx.tempDir('etcd3'));
  const registries = [
    ['SQLite', null],
    ['etcd, 1 member', one.url('bench')],
    ['etcd, 3 members', three.url('bench')],
  ];
  const raw = { sequential: {}, bursts: {}, leader: null };
  try {
    for (const [name, url] of registries) {
      raw.sequential[name] = await sequential(ctx, url);
      ctx.log(
        `etcd sequential ${name}: zero-config ${fmt(raw.sequential[name]['zero-config'].median)} us, range ${fmt(raw.sequential[name].range.median)} us`,
      );
    }
    for (const [n, m] of BURSTS) {
      for (const [name, url] of registries)
        raw.bursts[`${n}x${m} ${name}`] = await burst(ctx, url && `${url}-${n}x${m}`, n, m);
    }
    raw.leader = await leaderChange(ctx, three);
  } finally {
    await one.destroy();
    await three.destroy();
  }
  const names = registries.map(([name]) => name);
  const seqRows = ['zero-config', 'range'].flatMap((mode) =>
    ['median', 'p99'].map((stat) => [
      `${mode} ${stat} (us)`,
      ...names.map((name) => fmt(raw.sequential[name][mode][stat])),
    ]),
  );
  const burstRows = BURSTS.map(([n, m]) => [
    `${n}x${m} zero-config`,
    ...names.map((name) => {
      const runs = raw.bursts[`${n}x${m} ${name}`];
      return runs.map((r) => fmt(r.wallMs)).join(' / ');
    }),
  ]);
  const bad = Object.values(raw.bursts)
    .flat()
    .reduce((a, r) => a + r.duplicates + r.errors, 0);
  const leader = raw.leader;
  return {
    id: 'etcd',
    title: '11. etcd registry (issue #13): beside SQLite',
    tables: [
      {
        title: `Sequential getPort(), ${SEQUENTIAL_CALLS} calls each`,
        headers: ['', ...names],
        rows: seqRows,
      },
      {
        title: `Bursts: N processes x M calls at once, wall time in ms (rep 1 / rep 2; rep 1 opens the registry)`,
        headers: ['scenario', ...names],
        rows: burstRows,
      },
      {
        title:
          'A leader change: getPort({ range }) and releasePort back to back, the leader of three SIGKILLed',
        headers: [
          'median lease + release before (ms)',
          'slowest lease + release after the kill (ms)',
          'calls in 3 s after',
          'errors',
        ],
        rows: [
          [
            fmt(leader.beforeMedianMs),
            fmt(leader.slowestMs),
            String(leader.callsAfterKill),
            String(leader.errors),
          ],
        ],
      },
    ],
    notes: [
      'etcd runs here on loopback on the same 2 cores as the processes, with fsync on: a real cluster adds network round trips and takes the CPU off the callers.',
      'A commit waits until the watch has delivered it back (read your writes), so a range call on etcd costs a commit and a watch delivery.',
      'Each process imports the etcd3 client (gRPC, protobuf) when it first opens an etcd registry: about 0.5 s of CPU, paid once per process, in rep 1 of the bursts.',
    ],
    targets: [
      target('etcd bursts', '0 duplicates, 0 errors', bad, 0, { shown: `${bad} bad answers` }),
      target('etcd leader change', '0 errors', leader.errors, 0, { shown: `${leader.errors} errors` }),
    ],
    raw,
  };
}
