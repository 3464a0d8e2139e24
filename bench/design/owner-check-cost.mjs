#!/usr/bin/env node
/**
 * What a getPort call costs on builds of berth side by side: written for issue
 * #20's zombie fix (591e74a: a lease that stands in the way of a request gets
 * its owner fully checked, start time and zombie state, where the batch's sweep
 * trusts a young owner on kill(pid, 0)), whose issue asked for "the per-call
 * cost unchanged". Every build is loaded into this one process and the calls
 * are interleaved call by call (each round of calls asks every build once, in
 * an order rotated each time), so the load of this shared machine hits them
 * alike; each build has a registry folder of its own.
 *
 *   node bench/design/owner-check-cost.mjs before=/tmp/a/dist fix=/tmp/b/dist now=dist
 *
 * Each dist/ must sit in a checkout with its node_modules (better-sqlite3 is
 * resolved from there). The first build is the base of the ratios.
 * Environment: CALLS (timed calls per mode and round, default 2000), ROUNDS
 * (default 5), WARMUP (untimed calls per mode and round, default 200), OUT (a
 * JSON file for every round's figures).
 *
 * Modes:
 * - zero-config:      getPort()
 * - preferred, free:  getPort({ port: q }), q a different free port each call
 * - preferred, held:  getPort({ port: h }), h leased by another live process (a
 *                     child holding it in that build's registry): the path the
 *                     fix touched, ending on a pool port
 * - exact, held:      getPort({ port: h, range: [h, h] }): E_NO_PORT in every
 *                     build, after the fix only once the owner was fully checked
 * Returned ports are released after each call, outside the timed region.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findFreePorts } from '../support/ports.mjs';
import { median, microsSince, percentile, rotate } from '../support/stats.mjs';

const CALLS = Number(process.env.CALLS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 200);
const MODES = ['zero-config', 'preferred, free', 'preferred, held', 'exact, held'];

const builds = process.argv.slice(2).map((arg) => {
  const [name, dist] = arg.split('=');
  if (!name || !dist) throw new Error(`expected name=/path/to/dist, got ${arg}`);
  return { name, url: pathToFileURL(join(resolve(dist), 'index.js')).href };
});
if (builds.length < 2) throw new Error('give at least two builds: name=/path/to/dist ...');

/** A child process that leases `port` exactly in `home` with the build at `url`, and holds it until killed. */
async function startHolder(url, home, port) {
  const script = `
    const { getPort } = await import(${JSON.stringify(url)});
    await getPort({ home: ${JSON.stringify(home)}, port: ${port}, range: [${port}, ${port}] });
    process.stdout.write('ready\\n');
    setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = await once(child.stdout, 'data');
  if (!String(chunk).includes('ready')) throw new Error(`holder: ${chunk}`);
  return child;
}

const root = mkdtempSync(join(tmpdir(), 'berth-owner-check-'));
const holders = [];
try {
  const [held, ...free] = await findFreePorts(1 + WARMUP + CALLS);
  for (const build of builds) {
    build.home = join(root, build.name);
    const api = await import(build.url);
    build.getPort = api.getPort;
    build.release = (port) => api.releasePort(port, { home: build.home });
    holders.push(await startHolder(build.url, build.home, held));
  }
  const options = {
    'zero-config': (b) => ({ home: b.home }),
    'preferred, free': (b, i) => ({ home: b.home, port: free[i] }),
    'preferred, held': (b) => ({ home: b.home, port: held }),
    'exact, held': (b) => ({ home: b.home, port: held, range: [held, held] }),
  };
  /** Whether a call's outcome is the one its mode must give (a port, or E_NO_PORT). */
  const right = {
    'zero-config': (port) => Number.isInteger(port),
    'preferred, free': (port, i) => port === free[i],
    'preferred, held': (port) => Number.isInteger(port) && port !== held,
    'exact, held': (_port, _i, error) => error?.code === 'E_NO_PORT',
  };

  const rounds = [];
  console.log(`builds: ${builds.map((b) => b.name).join(', ')}; ${ROUNDS} rounds x ${CALLS} calls per mode`);
  console.log(
    `held port ${held}; load average at start ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of rotate(MODES, round)) {
      const samples = Object.fromEntries(builds.map((b) => [b.name, []]));
      const wrong = Object.fromEntries(builds.map((b) => [b.name, 0]));
      for (let i = 0; i < WARMUP + CALLS; i++) {
        for (const build of rotate(builds, i)) {
          const asked = options[mode](build, i);
          let port;
          let error;
          const start = process.hrtime.bigint();
          try {
            port = await build.getPort(asked);
          } catch (e) {
            error = e;
          }
          const micros = microsSince(start);
          if (i >= WARMUP) {
            samples[build.name].push(micros);
            if (!right[mode](port, i, error)) wrong[build.name]++;
          }
          if (port !== undefined) await build.release(port);
        }
      }
      const figures = Object.fromEntries(
        builds.map((b) => {
          const s = samples[b.name];
          return [
            b.name,
            {
              median: median(s),
              p90: percentile(s, 90),
              p99: percentile(s, 99),
              mean: s.reduce((a, x) => a + x, 0) / s.length,
              wrong: wrong[b.name],
            },
          ];
        }),
      );
      rounds.push({ round, mode, load: loadavg()[0], figures });
      console.log(
        `round ${round + 1} ${mode} (load ${loadavg()[0].toFixed(1)}): ${builds
          .map((b) => {
            const f = figures[b.name];
            return `${b.name} ${f.median.toFixed(1)} / ${f.p90.toFixed(1)} / ${f.p99.toFixed(1)} us${f.wrong ? ` (${f.wrong} wrong)` : ''}`;
          })
          .join(', ')}`,
      );
    }
  }

  // Per mode and build: the median over the rounds of each figure, the rounds' range of
  // medians, and the ratio to the first build taken round by round (same conditions).
  const base = builds[0].name;
  const fmt = (x) => x.toFixed(1);
  console.log(
    `\n| mode | build | median us (rounds) | p90 us | p99 us | median / ${base} (rounds) | wrong |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const mode of MODES) {
    const ofMode = rounds.filter((r) => r.mode === mode);
    for (const b of builds) {
      const get = (key) => ofMode.map((r) => r.figures[b.name][key]);
      const ratios = ofMode.map((r) => r.figures[b.name].median / r.figures[base].median);
      const medians = get('median');
      console.log(
        `| ${mode} | ${b.name} | ${fmt(median(medians))} (${fmt(Math.min(...medians))}-${fmt(Math.max(...medians))}) | ${fmt(median(get('p90')))} | ${fmt(median(get('p99')))} | ${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}) | ${get('wrong').reduce((a, x) => a + x, 0)} |`,
      );
    }
  }
  console.log(
    `load average at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (process.env.OUT)
    writeFileSync(
      process.env.OUT,
      `${JSON.stringify({ builds: builds.map((b) => b.name), CALLS, ROUNDS, WARMUP, rounds }, null, 2)}\n`,
    );
} finally {
  for (const holder of holders) holder.kill();
  rmSync(root, { recursive: true, force: true });
}
