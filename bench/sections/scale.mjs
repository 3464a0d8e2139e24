/**
 * 5. Scale: berth's `getPort()` and `assign()` latency with 0, 1,000 and
 * 10,000 live leases in the registry, to show the cost does not grow with it.
 *
 * What the leases look like (a busy shared machine, many projects): 90% are
 * service leases of many projects (5 services each, no owner process, as
 * `berth assign` leaves them), spread uniformly over 1024-65535 outside the
 * default pool; 10% are `getPort()` leases inside the pool 20000-29999 (10% of
 * the pool at 10,000 leases), owned by a live process so every one met is
 * checked for liveness. They are inserted directly, in one transaction.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPeer } from '../peers.mjs';
import { distUrl } from '../support/dist.mjs';
import { checkFree, findFreeBlock } from '../support/ports.mjs';
import { fmt, fmtRatio, target } from '../support/report.mjs';
import { median, microsSince, ratio, rotate, summarize } from '../support/stats.mjs';

const SIZES = [0, 1000, 10000];
const CALLS = 300;
const WARMUP_CALLS = 30;
const REPS = 3;
const POOL = { min: 20000, max: 29999 };
const IN_POOL_SHARE = 0.1;
const SERVICES_PER_PROJECT = 5;
const OPS = ['getPort', 'assign (new)', 'assign (steady)'];

function distinctPorts(n, pick, taken) {
  const out = [];
  while (out.length < n) {
    const port = pick();
    if (taken.has(port)) continue;
    taken.add(port);
    out.push(port);
  }
  return out;
}

const randomPort = (min, max) => min + Math.floor(Math.random() * (max - min + 1));

/** Inserts `n` live leases (see the module comment) into the registry at `home`. */
async function fill(home, n, owner, avoid) {
  const { openRegistry } = await import(distUrl('adapters/registry/sqlite.js'));
  const registry = openRegistry({ home });
  const taken = new Set(avoid);
  const inPool = Math.round(n * IN_POOL_SHARE);
  const poolPorts = distinctPorts(inPool, () => randomPort(POOL.min, POOL.max), taken);
  const otherPorts = distinctPorts(
    n - inPool,
    () => {
      const port = randomPort(1024, 65535 - (POOL.max - POOL.min + 1));
      return port >= POOL.min ? port + (POOL.max - POOL.min + 1) : port;
    },
    taken,
  );
  const now = Date.now();
  await registry.transaction((tx) => {
    otherPorts.forEach((port, i) => {
      const project = `proj-${Math.floor(i / SERVICES_PER_PROJECT)}`;
      tx.insert({
        port,
        kind: 'service',
        project,
        dir: `/home/dev/src/${project}`,
        environment: 'development',
        service: `svc${i % SERVICES_PER_PROJECT}`,
        inheritsFrom: null,
        owner: null,
        createdAt: now,
        expiresAt: null,
        scheme: 'http',
      });
    });
    for (const port of poolPorts) {
      tx.insert({
        port,
        kind: 'adhoc',
        project: '',
        dir: '',
        environment: '',
        service: 'getPort',
        inheritsFrom: null,
        owner,
        createdAt: now,
        expiresAt: null,
        scheme: null,
      });
    }
  });
  const count = registry.allLeases().length;
  registry.close();
  return count;
}

async function timeCalls(fn, after) {
  const samples = [];
  let falseResults = 0;
  for (let i = 0; i < WARMUP_CALLS + CALLS; i++) {
    const start = process.hrtime.bigint();
    const port = await fn();
    const micros = microsSince(start);
    if (i >= WARMUP_CALLS) {
      samples.push(micros);
      if (!(await checkFree(port)).free) falseResults++;
    }
    await after(port);
  }
  return { ...summarize(samples), falseResults };
}

/** Runs the scale section. */
export async function run(ctx) {
  const { createPortManager } = await import(distUrl('index.js'));
  const { createProcessTable } = await import(distUrl('adapters/process/table.js'));
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  const owner = createProcessTable().owner(sleeper.pid);
  const block = await findFreeBlock(60);
  const avoid = Array.from({ length: 60 }, (_, i) => block.min + i);
  const config = {
    project: 'bench-scale',
    services: {
      api: { preferred: [block.min], range: { min: block.min, max: block.min + 19 }, requires: ['http'] },
      web: {
        preferred: [block.min + 20],
        range: { min: block.min + 20, max: block.min + 39 },
        requires: ['http'],
      },
      db: {
        preferred: [block.min + 40],
        range: { min: block.min + 40, max: block.min + 59 },
        requires: ['tcp'],
      },
    },
  };
  const setups = {};
  const runs = Object.fromEntries(SIZES.map((s) => [s, Object.fromEntries(OPS.map((op) => [op, []]))]));
  try {
    for (const size of SIZES) {
      const home = ctx.tempDir(`scale-${size}`);
      const leases = await fill(home, size, owner, avoid);
      const cwd = join(home, 'project');
      mkdirSync(cwd);
      const pm = await createPortManager({ cwd, home, config });
      await pm.assignAll();
      setups[size] = { leases, getPort: await createPeer('berth', { home }), pm };
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const size of rotate(SIZES, rep)) {
        const { getPort, pm } = setups[size];
        const results = {
          getPort: await timeCalls(
            () => getPort(),
            (port) => getPort.release(port),
          ),
          'assign (new)': await timeCalls(
            async () => (await pm.assign('api')).port,
            () => pm.release('api'),
          ),
        };
        await pm.assign('api');
        results['assign (steady)'] = await timeCalls(
          async () => (await pm.assign('api')).port,
          async () => {},
        );
        for (const op of OPS) runs[size][op].push(results[op]);
        ctx.log(
          `scale rep ${rep + 1} ${size} leases: ${OPS.map((op) => `${op} ${fmt(results[op].median)} us`).join(', ')}`,
        );
      }
    }
  } finally {
    for (const s of Object.values(setups)) s.pm.close();
    sleeper.kill();
  }
  const values = {};
  for (const size of SIZES) {
    values[size] = {};
    for (const op of OPS) {
      values[size][`${op}.median`] = median(runs[size][op].map((r) => r.median));
      values[size][`${op}.p99`] = median(runs[size][op].map((r) => r.p99));
      values[size][`${op}.false`] = runs[size][op].reduce((a, r) => a + r.falseResults, 0);
    }
  }
  const biggest = SIZES.at(-1);
  const rows = SIZES.map((size) => [
    setups[size]?.leases === size ? size.toLocaleString('en-US') : `${size} (${setups[size]?.leases} found!)`,
    ...OPS.flatMap((op) => [fmt(values[size][`${op}.median`]), fmt(values[size][`${op}.p99`])]),
    ...OPS.map((op) => fmtRatio(ratio(values[size][`${op}.median`], values[0][`${op}.median`]))),
  ]);
  const falseTotal = SIZES.reduce((a, s) => a + OPS.reduce((b, op) => b + values[s][`${op}.false`], 0), 0);
  const scaleTargets = OPS.map((op) => {
    const r = ratio(values[biggest][`${op}.median`], values[0][`${op}.median`]);
    return target(`scale, ${op}`, '10,000 leases <= 1.5x empty', r, 1.5, {
      shown: `${fmt(r)}x (${fmt(values[biggest][`${op}.median`])} us vs ${fmt(values[0][`${op}.median`])} us)`,
    });
  });
  return {
    id: 'scale',
    title: '5. Scale: berth with many live leases',
    tables: [
      {
        title: `berth latency by live leases in the registry, ${CALLS} calls x ${REPS} reps (us; ratio = this size / empty, medians)`,
        headers: [
          'live leases',
          ...OPS.flatMap((op) => [`${op} median`, `${op} p99`]),
          ...OPS.map((op) => `${op} / empty`),
        ],
        rows,
      },
    ],
    notes: [
      `Leases: ${Math.round((1 - IN_POOL_SHARE) * 100)}% service leases of many projects (${SERVICES_PER_PROJECT} services each, no owner process, as \`berth assign\` leaves them) spread uniformly over 1024-65535 outside the pool; ${Math.round(IN_POOL_SHARE * 100)}% getPort() leases inside the pool 20000-29999, owned by a live process, so each one met is checked for liveness. Inserted directly in one transaction.`,
      "`getPort` is zero-config, its port released after each call (untimed). `assign (new)`: `pm.assign('api')` after `pm.release('api')` (untimed; the sticky history brings the same port back). `assign (steady)`: `pm.assign('api')` while it holds its lease. The project has 3 services, given in code.",
      `Returned ports not bindable on all four addresses: ${falseTotal}.`,
    ],
    targets: scaleTargets,
    raw: { sizes: SIZES, calls: CALLS, reps: REPS, runs },
  };
}
