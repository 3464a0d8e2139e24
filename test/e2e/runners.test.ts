/**
 * The test runners' entries end to end: vitest, Jest and Playwright each run on
 * their example (examples/<runner>) from the repo's own node_modules, with a
 * registry of this test's own. The examples' tests bind the ports they are
 * given; what they bound comes back in BERTH_EXAMPLE_REPORT.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, close, listen, ROOT } from '../helpers.js';
import { findBrowser, launchOptions, thisHost } from '../support/browser.js';
import {
  alive,
  allocateOnce,
  eventually,
  leasesIn,
  listenerPids,
  processGroup,
  RUNNER_BIN,
  type RunnerProcess,
  readReport,
  runnerEnv,
  startRunner,
  watchdogRecord,
} from '../support/runner-process.js';

const roots: string[] = [];
const runners: RunnerProcess[] = [];

afterEach(async () => {
  for (const r of runners.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await r.exit;
  }
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A temp registry, report file and watchdog log for one test. */
function workspace(): { home: string; report: string; watchdogLog: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-runners-'));
  roots.push(root);
  return {
    home: join(root, 'home'),
    report: join(root, 'report.jsonl'),
    watchdogLog: join(root, 'watchdog.log'),
  };
}

function run(bin: string, args: string[], env: Record<string, string>): RunnerProcess {
  const r = startRunner(bin, args, runnerEnv(env));
  runners.push(r);
  return r;
}

/**
 * No port bound by two processes at the same time (a port a finished worker gave
 * back may serve another later); returns the number of distinct ports.
 */
function checkReport(report: string): { ports: number; lines: number } {
  const lines = readReport(report).filter((l) => !l.test.startsWith('api of run'));
  const overlapping = lines.flatMap((a) =>
    lines
      .filter((b) => b.port === a.port && b.pid !== a.pid && b.since <= a.until && a.since <= b.until)
      .map((b) => `${a.port}: ${a.test} (pid ${a.pid}) and ${b.test} (pid ${b.pid})`),
  );
  expect(overlapping, 'ports bound by two processes at once').toEqual([]);
  // `workerPort()` is one port for a worker's whole life, across its test files.
  const perWorker = new Map<number, Set<number>>();
  for (const { port, pid, test } of lines) {
    if (test.endsWith('/port')) perWorker.set(pid, (perWorker.get(pid) ?? new Set()).add(port));
  }
  expect(
    [...perWorker.values()].filter((ports) => ports.size > 1),
    'workers with two default ports',
  ).toEqual([]);
  return { ports: new Set(lines.map((l) => l.port)).size, lines: lines.length };
}

const VITEST_EXAMPLE = ['run', '--root', 'examples/vitest'];

describe('berth-ports/vitest on examples/vitest', () => {
  it('runs the example: the api is started for the run, every worker test binds its own port, nothing is left', async () => {
    const { home, report } = workspace();
    const r = run(RUNNER_BIN.vitest, VITEST_EXAMPLE, { BERTH_HOME: home, BERTH_EXAMPLE_REPORT: report });
    const { code } = await r.exit;
    expect(code, r.output()).toBe(0);
    expect(r.output()).toMatch(/Tests\s+14 passed/);
    expect(checkReport(report).ports).toBeGreaterThanOrEqual(3);
    // The teardown released the run's leases, the workers' included (they were killed, not exited).
    expect(leasesIn(home)).toEqual([]);
  }, 120_000);

  it('four vitest processes at once on one project: 0 EADDRINUSE, 0 ports shared, every lease gone after', async () => {
    const { home, report } = workspace();
    const all = [1, 2, 3, 4].map(() =>
      run(RUNNER_BIN.vitest, VITEST_EXAMPLE, { BERTH_HOME: home, BERTH_EXAMPLE_REPORT: report }),
    );
    const exits = await Promise.all(all.map((r) => r.exit));
    for (const [i, { code }] of exits.entries()) expect(code, all[i]!.output()).toBe(0);
    for (const r of all) expect(r.output()).not.toContain('EADDRINUSE');
    const { ports } = checkReport(report);
    // Each run has 3 workers with 3 ports each at most; 4 runs bound at least 4 * 3 distinct ports.
    expect(ports).toBeGreaterThanOrEqual(12);
    const apis = readReport(report).filter((l) => l.test.startsWith('api of run'));
    expect(new Set(apis.map((l) => l.port)).size).toBe(4);
    expect(leasesIn(home)).toEqual([]);
  }, 180_000);

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(
      `a run killed with ${signal} leaves no server process and, after the next allocation, no lease`,
      () =>
        interrupted(signal, (home) =>
          run(RUNNER_BIN.vitest, VITEST_EXAMPLE, { BERTH_HOME: home, BERTH_EXAMPLE_HOLD_MS: '60000' }),
        ),
      120_000,
    );
  }
});

/**
 * Starts a run that holds (the example's hold test), waits until its api is up,
 * kills the runner with `signal`, then expects the api process gone and, after one
 * allocation, no lease at all.
 */
async function interrupted(signal: NodeJS.Signals, start: (home: string) => RunnerProcess): Promise<void> {
  const { home } = workspace();
  const r = start(home);
  let apiPid = 0;
  await eventually(
    `the api of the run to be up:\n${r.output()}`,
    async () => {
      const api = leasesIn(home).find((l) => l.service === 'api');
      if (!api?.owner || api.owner.pid === r.child.pid) return false;
      const ok = await fetch(`http://127.0.0.1:${api.port}/health`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) apiPid = api.owner.pid;
      return ok;
    },
    60_000,
  );
  expect(alive(apiPid)).toBe(true);
  r.child.kill(signal);
  await r.exit;
  await eventually('the api process to be gone', () => !alive(apiPid));
  await eventually('every lease of the run to be gone', async () => {
    await allocateOnce(home);
    return leasesIn(home).length === 0;
  });
}

const JEST_EXAMPLE = ['--config', 'examples/jest/jest.config.cjs'];

describe('berth-ports/jest on examples/jest (CommonJS)', () => {
  it('runs the example: the api is started for the run, every worker test binds its own port, nothing is left', async () => {
    const { home, report } = workspace();
    const r = run(RUNNER_BIN.jest, [...JEST_EXAMPLE, '--maxWorkers', '3'], {
      BERTH_HOME: home,
      BERTH_EXAMPLE_REPORT: report,
    });
    const { code } = await r.exit;
    expect(code, r.output()).toBe(0);
    expect(r.output()).toMatch(/Tests:\s+14 passed, 14 total/);
    expect(checkReport(report).ports).toBeGreaterThanOrEqual(3);
    expect(leasesIn(home)).toEqual([]);
  }, 120_000);

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(
      `a run killed with ${signal} leaves no server process and, after the next allocation, no lease`,
      () =>
        interrupted(signal, (home) =>
          run(RUNNER_BIN.jest, [...JEST_EXAMPLE, '--testMatch', '**/test/hold.slow.cjs'], {
            BERTH_HOME: home,
          }),
        ),
      120_000,
    );
  }
});

const byNumber = (a: number | null, b: number | null) => (a ?? 0) - (b ?? 0);

const PLAYWRIGHT_EXAMPLE = ['test', '--config', 'examples/playwright/playwright.config.ts'];

describe('berth-ports/playwright on examples/playwright', () => {
  /** The dashboard test's browser (test/support/browser.ts), handed to the example's config. */
  let launch = '';
  beforeAll(async () => {
    launch = JSON.stringify(await launchOptions(findBrowser(thisHost())));
  }, 120_000);

  it('starts server and client on leased ports while their preferred ports are held by a stranger', async () => {
    const { home } = workspace();
    // A stranger on the preferred ports (when one of them is busy already, someone else is the stranger).
    const strangers = await Promise.all([14300, 14301].map((port) => listen(port).catch(() => null)));
    try {
      const r = run(RUNNER_BIN.playwright, PLAYWRIGHT_EXAMPLE, {
        BERTH_HOME: home,
        BERTH_EXAMPLE_LAUNCH: launch,
      });
      const { code } = await r.exit;
      expect(code, r.output()).toBe(0);
      expect(r.output()).toMatch(/3 passed/);
      expect(r.output()).toMatch(/server assigned port \d+ .*14300/);
      expect(leasesIn(home)).toEqual([]);
    } finally {
      for (const s of strangers) if (s) await close(s);
    }
  }, 180_000);

  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`a run killed with ${signal} leaves no server process and, after the next allocation, no lease`, async () => {
      const { home, watchdogLog } = workspace();
      const r = run(RUNNER_BIN.playwright, PLAYWRIGHT_EXAMPLE, {
        BERTH_HOME: home,
        BERTH_EXAMPLE_LAUNCH: launch,
        BERTH_EXAMPLE_HOLD_MS: '60000',
        BERTH_WATCHDOG_LOG: watchdogLog,
      });
      const pids: number[] = [];
      await eventually(
        `server and client to be up:\n${r.output()}`,
        async () => {
          const ports = leasesIn(home).map((l) => l.port);
          if (ports.length < 2) return false;
          pids.splice(0, pids.length, ...(await listenerPids(ports)));
          return pids.length >= 2;
        },
        90_000,
      );
      // Not a fixed sleep: the watchdog's own record (it looks once a second until it knows the
      // group serving each server's port), checked against the groups the servers run in.
      const knowsAll = (l: string) => l.startsWith('looked who serves: ') && !l.includes('none yet');
      const record = () => watchdogRecord(watchdogLog);
      await eventually(
        'the watchdog to know who serves',
        () => record().some((e) => knowsAll(e.line)),
        30_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; its lines:\n${readFileSync(watchdogLog, 'utf8')}`);
      });
      const known = record().find((e) => knowsAll(e.line))!;
      const groups = [...known.line.matchAll(/group (\d+)/g)].map((m) => Number(m[1])).sort(byNumber);
      expect(groups).toEqual([...new Set(pids.map(processGroup))].sort(byNumber));
      // Having looked, it left them running: Playwright lives.
      expect(pids.filter((pid) => !alive(pid))).toEqual([]);
      const killedAt = Date.now();
      r.child.kill(signal);
      await r.exit;
      await eventually('the servers to be gone', () => pids.every((pid) => !alive(pid)));
      // That watchdog's lines (a Playwright worker orphaned by SIGKILL may start a run, and a watchdog, of its own).
      const ours = () => record().filter((e) => e.pid === known.pid);
      await eventually('the watchdog to have released the run', () =>
        ours().some((e) => /^released \d+ leases? /.test(e.line)),
      );
      // Its record, timed: it saw the runner go only after the kill, and only then did each
      // group it knew end; on SIGKILL by its hand (on SIGINT Playwright stops its servers itself).
      const lines = ours();
      const shown = lines.map((e) => `${new Date(e.at).toISOString()} ${e.line}`).join('\n');
      const gone = lines.find((e) => /^runner pid \d+ is gone$/.test(e.line));
      expect(gone?.at, `killed at ${new Date(killedAt).toISOString()}:\n${shown}`).toBeGreaterThanOrEqual(
        killedAt,
      );
      const ends = lines.flatMap((e, order) => {
        const end = /^port \d+: group (\d+) (.*)$/.exec(e.line);
        return end ? [{ order, group: Number(end[1]), how: end[2]! }] : [];
      });
      expect(ends.map((e) => e.group).sort(byNumber), shown).toEqual(groups);
      for (const end of ends) {
        expect(end.order, shown).toBeGreaterThan(lines.indexOf(gone!));
        if (signal === 'SIGKILL') expect(end.how, shown).toMatch(/^(stopped|killed)/);
      }
      await eventually('every lease of the run to be gone', async () => {
        await allocateOnce(home);
        return leasesIn(home).length === 0;
      });
    }, 180_000);
  }

  /** `berth up --env test` in `dir`, ready: its process and the ports of server and client. */
  async function upInTest(dir: string, home: string): Promise<{ up: RunnerProcess; ports: number[] }> {
    const up = startRunner(CLI, ['up', '--env', 'test'], { ...runnerEnv({ BERTH_HOME: home }) }, dir);
    runners.push(up);
    await eventually(
      `berth up in ${dir} to be ready:\n${up.output()}`,
      () => /every service is ready/.test(up.output()),
      60_000,
    );
    const ports = leasesIn(home)
      .filter((l) => l.dir === dir)
      .map((l) => l.port)
      .sort();
    return { up, ports };
  }

  it('reuses the servers this checkout already runs (berth up --env test), and leaves them running', async () => {
    const { home } = workspace();
    const dir = join(ROOT, 'examples/playwright');
    const { up, ports } = await upInTest(dir, home);
    const r = run(RUNNER_BIN.playwright, PLAYWRIGHT_EXAMPLE, {
      BERTH_HOME: home,
      BERTH_EXAMPLE_LAUNCH: launch,
    });
    const { code } = await r.exit;
    expect(code, r.output()).toBe(0);
    expect(r.output()).toMatch(/berth: reusing the servers this checkout runs in environment test/);
    expect(r.output()).not.toMatch(/assigned port/);
    // Still berth up's: Playwright stopped nothing it did not start.
    expect(up.child.exitCode).toBe(null);
    expect(
      leasesIn(home)
        .map((l) => l.port)
        .sort(),
    ).toEqual(ports);
    up.child.kill('SIGTERM');
    expect((await up.exit).code).toBe(0);
  }, 180_000);

  it("never reuses another checkout's servers on the preferred ports: it starts its own", async () => {
    const { home } = workspace();
    const other = join(roots.at(-1)!, 'other-checkout');
    cpSync(join(ROOT, 'examples/playwright'), other, {
      recursive: true,
      filter: (f) => !f.includes('test-results'),
    });
    const { up, ports } = await upInTest(other, home);
    const r = run(RUNNER_BIN.playwright, PLAYWRIGHT_EXAMPLE, {
      BERTH_HOME: home,
      BERTH_EXAMPLE_LAUNCH: launch,
    });
    const { code } = await r.exit;
    expect(code, r.output()).toBe(0);
    expect(r.output()).not.toMatch(/reusing/);
    // berth prints a decision line for a service that did not get its first choice; one that
    // did (the other checkout's stack was itself moved off it, by another run on this
    // machine) got its preferred port, as the example's config says.
    const example = JSON.parse(readFileSync(join(ROOT, 'examples/playwright/berth.config.json'), 'utf8'));
    const assigned = ['server', 'client'].map((service) => {
      const line = new RegExp(`${service} assigned port (\\d+)`).exec(r.output());
      return line ? Number(line[1]) : (example.services[service].preferred[0] as number);
    });
    for (const port of assigned) expect(ports).not.toContain(port);
    // The other checkout's stack is untouched, and this run left no lease.
    expect(up.child.exitCode).toBe(null);
    expect(leasesIn(home).every((l) => l.dir === other)).toBe(true);
    up.child.kill('SIGTERM');
    expect((await up.exit).code).toBe(0);
  }, 180_000);
});

describe('the entries from ESM and CommonJS', () => {
  const ENTRIES: Record<string, string[]> = {
    'berth-ports/vitest': ['berthSetup', 'setup', 'teardown', 'workerPort', 'workerPorts'],
    'berth-ports/vitest/setup': ['setup', 'teardown'],
    'berth-ports/jest': [
      'berthPorts',
      'createGlobalSetup',
      'globalSetup',
      'globalTeardown',
      'workerPort',
      'workerPorts',
    ],
    'berth-ports/jest/setup': ['default'],
    'berth-ports/jest/teardown': ['default'],
    'berth-ports/playwright': ['berthWebServers', 'workerPort', 'workerPorts'],
  };

  it('each entry loads with import and with require, through the exports map', () => {
    const script = `
      const entries = ${JSON.stringify(Object.keys(ENTRIES))};
      const out = {};
      for (const e of entries) out[e] = { cjs: Object.keys(require(e)).sort() };
      Promise.all(entries.map((e) => import(e))).then((mods) => {
        mods.forEach((m, i) => (out[entries[i]].esm = Object.keys(m).sort()));
        process.stdout.write(JSON.stringify(out));
      });`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }),
    ) as Record<string, { cjs: string[]; esm: string[] }>;
    for (const [entry, names] of Object.entries(ENTRIES)) {
      expect(out[entry]!.esm, entry).toEqual(expect.arrayContaining(names));
      expect(out[entry]!.cjs, entry).toEqual(expect.arrayContaining(names));
    }
  });

  it("berthWebServers with an unknown service: the lease child's E_UNKNOWN_SERVICE, naming the option, without a stack", () => {
    const { home } = workspace();
    const script = `
      const { berthWebServers } = require('berth-ports/playwright');
      try {
        berthWebServers({ cwd: ${JSON.stringify(join(ROOT, 'examples/playwright'))}, home: ${JSON.stringify(home)}, services: ['nope'] });
      } catch (error) {
        process.stdout.write(JSON.stringify({ name: error.name, code: error.code, message: error.message, stack: error.stack }));
      }`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }),
    ) as { name: string; code: string; message: string; stack: string };
    expect(out.code).toBe('E_UNKNOWN_SERVICE');
    expect(out.message).toMatch(
      /^option services names an unknown service "nope"\. The services of \S+ are /,
    );
    expect(out.stack).toBe(`BerthError: ${out.message}`);
    expect(leasesIn(home)).toEqual([]);
  });

  it("the README's vitest setup file type-checks under strict", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = readme.match(/```ts\n(\/\/ test\/global-setup\.ts\n[\s\S]*?)```/)?.[1];
    expect(block, 'the setup file in the README').toBeDefined();
    typeCheckConsumer('esm-consumer', { 'global-setup.ts': block! }, { type: 'module', links: ['vitest'] });
  }, 60_000);

  it('a CommonJS TypeScript project type-checks against the require types (.d.cts)', () => {
    typeCheckConsumer('cjs-consumer', {
      'consumer.ts': [
        "import { berthPorts, createGlobalSetup, workerPort } from 'berth-ports/jest';",
        "import { berthWebServers } from 'berth-ports/playwright';",
        "const port: Promise<number> = workerPort('api');",
        'const api: number | undefined = berthPorts().ports.api;',
        "const setup = createGlobalSetup({ services: ['api'] });",
        'const command: string | undefined = berthWebServers({ cwd: __dirname }).webServer[0]?.command;',
        'export = { port, api, setup, command };',
      ].join('\n'),
    });
  }, 60_000);
});

/**
 * Type-checks `files` as a consumer project of berth would (`node16` resolution, strict),
 * with berth (and the packages in `links`) linked into its node_modules; fails on any error.
 */
function typeCheckConsumer(
  name: string,
  files: Record<string, string>,
  options: { type?: 'module'; links?: string[] } = {},
): void {
  const dir = join(workspace().home, '..', name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/berth-ports'));
  for (const pkg of options.links ?? [])
    symlinkSync(join(ROOT, 'node_modules', pkg), join(dir, 'node_modules', pkg));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, private: true, ...(options.type ? { type: options.type } : {}) }),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'node16',
        moduleResolution: 'node16',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: Object.keys(files),
    }),
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  expect(() => execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' })).not.toThrow();
}
