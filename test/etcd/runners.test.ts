/**
 * The test runners' helpers on the etcd registry: a vitest run with the `berth-ports/vitest`
 * setup (examples/vitest), a Jest run with `berth-ports/jest` (examples/jest) and a Playwright run with `berthWebServers()`
 * (examples/playwright), with BERTH_REGISTRY set. Their ports are leased on etcd (another
 * host sees them while the run lasts), none in SQLite, and no lease is left after.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { waitFor } from '../helpers.js';
import { findBrowser, launchOptions, thisHost } from '../support/browser.js';
import { leasesIn, RUNNER_BIN, readReport, runnerEnv, startRunner } from '../support/runner-process.js';
import { type Cluster, startCluster } from './cluster.js';
import { openHost } from './open-host.js';

let cluster: Cluster;
let other: EtcdRegistry;
const roots: string[] = [];

beforeAll(async () => {
  cluster = await startCluster(1);
  other = await openHost(cluster.url('runners'), 'b');
}, 60_000);

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

afterAll(async () => {
  other?.close();
  await cluster?.destroy();
});

/**
 * Runs `bin args` on the etcd registry as host a; returns its exit, its output and every
 * lease host b saw on host a while it ran (looked up every 100 ms).
 */
async function runOnEtcd(bin: string, args: string[], extra: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'berth-etcd-runners-'));
  roots.push(root);
  const home = join(root, 'home');
  const report = join(root, 'report.jsonl');
  const r = startRunner(
    bin,
    args,
    runnerEnv({
      BERTH_HOME: home,
      BERTH_EXAMPLE_REPORT: report,
      BERTH_REGISTRY: cluster.url('runners'),
      BERTH_HOST: 'a',
      ...extra,
    }),
  );
  /** Port to service, of every lease host b saw on host a. */
  const seen = new Map<number, string>();
  let running = true;
  const looking = (async () => {
    while (running) {
      for (const l of await other.directory.hostLeases('a').catch(() => [])) seen.set(l.port, l.service);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const exit = await r.exit;
  running = false;
  await looking;
  return { exit, output: r.output(), seen, home, report };
}

/**
 * Leases went to etcd, none to the SQLite file of BERTH_HOME. (The file may exist: a run's
 * record of the processes it started, the run store, is this machine's and stays local.)
 */
function expectNoLeaseInSqlite(home: string): void {
  if (existsSync(join(home, 'registry.db'))) expect(leasesIn(home)).toEqual([]);
}

/**
 * A run of a runner's example passed, the ports its tests bound were leased on etcd
 * (host b saw some of them while it ran: a worker's lease may live shorter than a look),
 * and no lease is left after, on etcd or in SQLite.
 */
async function expectLeasedOnEtcdOnly(run: Awaited<ReturnType<typeof runOnEtcd>>, passed: RegExp) {
  expect(run.exit.code, run.output).toBe(0);
  expect(run.output).toMatch(passed);
  const bound = new Set(readReport(run.report).map((l) => l.port));
  expect(bound.size).toBeGreaterThanOrEqual(3);
  expect(
    [...bound].some((p) => run.seen.has(p)),
    `bound ${[...bound]}, seen ${[...run.seen.keys()]}`,
  ).toBe(true);
  expect((await other.directory.hostLeases('a')).map((l) => `${l.service}:${l.port}`)).toEqual([]);
  expectNoLeaseInSqlite(run.home);
}

describe('berth-ports/vitest and berth-ports/jest on etcd', () => {
  it('runs examples/vitest: its ports leased on etcd while it runs, none left after, none in SQLite', async () => {
    const run = await runOnEtcd(RUNNER_BIN.vitest, ['run', '--root', 'examples/vitest']);
    await expectLeasedOnEtcdOnly(run, /Tests\s+14 passed/);
  }, 180_000);

  it('runs examples/jest: its ports leased on etcd while it runs, none left after, none in SQLite', async () => {
    const run = await runOnEtcd(RUNNER_BIN.jest, [
      '--config',
      'examples/jest/jest.config.cjs',
      '--maxWorkers',
      '3',
    ]);
    await expectLeasedOnEtcdOnly(run, /Tests:\s+14 passed, 14 total/);
  }, 180_000);
});

describe('berth-ports/playwright on etcd', () => {
  let launch = '';
  beforeAll(async () => {
    launch = JSON.stringify(await launchOptions(findBrowser(thisHost())));
  }, 120_000);

  it('runs examples/playwright: server and client leased on etcd while it runs, released after', async () => {
    const run = await runOnEtcd(
      RUNNER_BIN.playwright,
      ['test', '--config', 'examples/playwright/playwright.config.ts'],
      { BERTH_EXAMPLE_LAUNCH: launch },
    );
    expect(run.exit.code, run.output).toBe(0);
    expect(run.output).toMatch(/3 passed/);
    // berthWebServers() leased server and client on etcd, for the run's environment.
    expect(new Set(run.seen.values())).toEqual(new Set(['server', 'client']));
    // Released after: Playwright's exit handler cannot commit to etcd, so the run's watchdog
    // (which looks once a second whether Playwright still runs) releases them.
    const ended = Date.now();
    await waitFor(async () => (await other.directory.hostLeases('a')).length === 0, {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: "the run's leases gone from etcd",
    });
    process.stdout.write(
      `runners: Playwright's leases gone from etcd ${Date.now() - ended} ms after it exited\n`,
    );
    expectNoLeaseInSqlite(run.home);
  }, 240_000);
});
