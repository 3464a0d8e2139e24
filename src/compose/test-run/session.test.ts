/**
 * A test run against a real registry in a temp folder and real processes: the
 * services' ports come from reserveBlock (no port is assumed free).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reserveBlock } from '../../../test/helpers.js';
import { createProcessTable } from '../../adapters/process/table.js';
import { openRegistry } from '../../adapters/registry/sqlite.js';
import type { LeaseOwner } from '../../core/types.js';
import { isBerthError } from '../../errors.js';
import { createAdapters } from '../context.js';
import { GetPortContext } from '../get-port.js';
import { startTestRun } from './session.js';
import { guardRun } from './watchdog.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function project(config: unknown | null): { dir: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-test-run-'));
  roots.push(root);
  const dir = join(root, 'shop');
  mkdirSync(dir);
  if (config !== null) writeFileSync(join(dir, 'berth.config.json'), JSON.stringify(config));
  writeFileSync(
    join(dir, 'serve.js'),
    "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');",
  );
  return { dir, home: join(root, 'home') };
}

const leasesIn = (home: string) => {
  const registry = openRegistry({ home });
  try {
    return registry.allLeases();
  } finally {
    registry.close();
  }
};

const quiet = () => {};

describe('startTestRun', () => {
  it('without a config gives only a run id, and its stop releases the leases labelled with it', async () => {
    const { dir, home } = project(null);
    const run = await startTestRun({ runner: 'vitest', cwd: dir, home, log: quiet });
    expect(run.values).toEqual({ ports: {}, urls: {} });
    expect(run.env).toEqual({ BERTH_RUN_ID: run.runId });
    // A worker's lease as berth-ports/vitest's workerPort makes it, and one of another run.
    const context = new GetPortContext(createAdapters({ home }));
    await context.getPort({ label: `vitest worker 1: port (run ${run.runId})` });
    await context.getPort({ label: 'vitest worker 1: port (run 00000000)' });
    await run.stop();
    expect(leasesIn(home).map((l) => l.service)).toEqual(['vitest worker 1: port (run 00000000)']);
    await context.releaseAll();
    context.close();
  });

  it('leases the services in a scope of its own, starts the commands, and its stop leaves nothing', async () => {
    const [api, db] = await reserveBlock(2);
    const { dir, home } = project({
      services: {
        api: { preferred: [api], command: ['node', 'serve.js'] },
        db: { preferred: [db], requires: ['tcp'] },
      },
    });
    const run = await startTestRun({ runner: 'jest', cwd: dir, home, log: quiet });
    expect(run.values.ports).toEqual({ api, db });
    expect(run.env).toMatchObject({ API_PORT: String(api), DB_URL: `tcp://localhost:${db}` });
    expect(run.config?.environment).toBe(`test.run-${run.runId}`);
    expect(await (await fetch(run.values.urls.api!)).text()).toBe('ok');
    const during = leasesIn(home);
    expect(during.map((l) => `${l.environment} ${l.service}`).sort()).toEqual([
      `test.run-${run.runId} api`,
      `test.run-${run.runId} db`,
    ]);
    await run.stop();
    expect(leasesIn(home)).toEqual([]);
    await expect(fetch(run.values.urls.api!)).rejects.toThrow();
  });

  it('two runs of one checkout at once get two sets of ports', async () => {
    const [api] = await reserveBlock(1);
    const { dir, home } = project({ services: { api: { preferred: [api], command: ['node', 'serve.js'] } } });
    const [a, b] = await Promise.all([
      startTestRun({ runner: 'vitest', cwd: dir, home, log: quiet }),
      startTestRun({ runner: 'vitest', cwd: dir, home, log: quiet }),
    ]);
    expect(a!.values.ports.api).not.toBe(b!.values.ports.api);
    await Promise.all([a!.stop(), b!.stop()]);
    expect(leasesIn(home)).toEqual([]);
  });

  it('fails with E_SERVICE_FAILED naming a service that exits before it is ready, and leaves nothing', async () => {
    const [api] = await reserveBlock(1);
    const { dir, home } = project({
      services: { api: { preferred: [api], command: 'echo broken >&2; exit 3' } },
    });
    const lines: string[] = [];
    const error = await startTestRun({ runner: 'vitest', cwd: dir, home, log: (l) => lines.push(l) }).catch(
      (e: unknown) => e,
    );
    expect(isBerthError(error, 'E_SERVICE_FAILED')).toBe(true);
    expect((error as Error).message).toContain('api');
    expect(lines.join('\n')).toContain('broken');
    expect(leasesIn(home)).toEqual([]);
  });
});

describe('startTestRun, the services and configFile options', () => {
  it('an unknown name in services: E_UNKNOWN_SERVICE naming the option and the known services, nothing left', async () => {
    const [api] = await reserveBlock(1);
    const { dir, home } = project({ services: { api: { preferred: [api], command: ['node', 'serve.js'] } } });
    const error = await startTestRun({
      runner: 'vitest',
      cwd: dir,
      home,
      log: quiet,
      services: ['apii'],
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
    expect(error?.message).toBe(
      'option services names an unknown service "apii". Did you mean "api"? The services of shop are api: pass some of those in services.',
    );
    expect(leasesIn(home)).toEqual([]);
  });

  it('a name in services without a config: E_UNKNOWN_SERVICE saying no config was found', async () => {
    const { dir, home } = project(null);
    const error = await startTestRun({ runner: 'jest', cwd: dir, home, log: quiet, services: ['api'] }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
    expect(error?.message).toContain('no berth config was found in');
  });

  it('a configFile that is not there: the message names the configFile option, not a CLI flag', async () => {
    const { dir, home } = project(null);
    const error = await startTestRun({
      runner: 'vitest',
      cwd: dir,
      home,
      log: quiet,
      configFile: 'nope.json',
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(isBerthError(error, 'E_CONFIG')).toBe(true);
    expect(error?.message).toBe(
      `config file nope.json not found (resolved to ${join(dir, 'nope.json')}). Check the configFile option: a path relative to ${dir}, or absolute.`,
    );
    expect(leasesIn(home)).toEqual([]);
  });
});

describe('the watchdog', () => {
  it('once the runner is gone, stops what the run started and releases its leases', async () => {
    const [api] = await reserveBlock(1);
    const { dir, home } = project({ services: { api: { preferred: [api], command: ['node', 'serve.js'] } } });
    const run = await startTestRun({ runner: 'vitest', cwd: dir, home, log: quiet });
    // The runner (this process) as a dead one: the watchdog's machine sees it gone.
    const real = createProcessTable();
    const processes = { ...real, isAlive: (o: LeaseOwner) => o.pid !== process.pid && real.isAlive(o) };
    const lines: string[] = [];
    const adapters = createAdapters({ home, adapters: { processes, log: (line) => lines.push(line) } });
    await guardRun({ home, runner: real.self(), runId: run.runId, config: run.config }, { adapters });
    expect(leasesIn(home)).toEqual([]);
    // What it did, for BERTH_WATCHDOG_LOG.
    expect(lines).toEqual([
      `guarding run ${run.runId} of runner pid ${process.pid}`,
      `runner pid ${process.pid} is gone`,
      `stopped the services of ${run.config!.environment} and released their leases (berth down)`,
      `released 0 leases left of run ${run.runId}`,
    ]);
    await expect(fetch(run.values.urls.api!)).rejects.toThrow();
    await run.stop();
  });
});
