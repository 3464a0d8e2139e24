/**
 * What the runners get from berth's entry points when something is wrong: a
 * BerthError that names the option and the fix, with a stack of its message
 * only (the runners print the stack). Each test has its own temp registry; the
 * services' ports come from reserveBlock.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reserveBlock } from '../../test/helpers.js';
import { openRegistry } from '../adapters/registry/sqlite.js';
import { BerthError, isBerthError } from '../errors.js';
import { atEntry, withoutStack } from './boundary.js';
import { createGlobalSetup, globalTeardown } from './jest/index.js';
import { berthWebServers } from './playwright/index.js';
import { berthSetup, teardown } from './vitest/index.js';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all([teardown(), globalTeardown()]);
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function project(config: unknown | null): { dir: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-entries-'));
  roots.push(root);
  const dir = join(root, 'shop');
  mkdirSync(dir);
  if (config !== null) writeFileSync(join(dir, 'berth.config.json'), JSON.stringify(config));
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

/** vitest's project, as the global setup sees it. */
const vitestProject = (root: string) => ({ provide: () => {}, config: { root } });

const quiet = () => {};

/** The error `work` throws or rejects with; fails the test when there is none. */
async function caught(work: () => unknown): Promise<Error> {
  try {
    await work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing thrown');
}

/** The error is a BerthError of `code` whose stack is its message only: no frame into berth's chunks. */
function expectBare(error: Error, code: string): void {
  expect(isBerthError(error) ? error.code : error).toBe(code);
  expect(error.stack).not.toMatch(/^\s+at /m);
  expect(error.stack?.startsWith(`BerthError: ${error.message}`)).toBe(true);
}

describe('berthSetup (berth-ports/vitest)', () => {
  it('rejects a bad option with E_USAGE naming it, before anything is leased', async () => {
    const { dir, home } = project({ services: { api: { preferred: [3000], command: 'exit 1' } } });
    for (const [options, message] of [
      [{ readyTimeoutMs: -5 }, 'berthSetup: option readyTimeoutMs -5 is out of range; use a value from 1'],
      [{ start: 'no' }, 'berthSetup: option start must be true or false, got "no"; pass start: false'],
      [{ services: 'api' }, 'berthSetup: option services must be an array of service names, got "api";'],
      [{ service: ['api'] }, 'berthSetup: unknown option "service". Did you mean "services"?'],
    ] as const) {
      const error = await caught(() => berthSetup(vitestProject(dir), { home, ...options } as never));
      expectBare(error, 'E_USAGE');
      expect(error.message).toContain(message);
    }
    expect(leasesIn(home)).toEqual([]);
  });

  it('a service that fails to start: E_SERVICE_FAILED without a stack, and nothing left', async () => {
    const [api] = await reserveBlock(1);
    const { dir, home } = project({ services: { api: { preferred: [api], command: 'exit 3' } } });
    const error = await caught(() => berthSetup(vitestProject(dir), { home, log: quiet }));
    expectBare(error, 'E_SERVICE_FAILED');
    expect(leasesIn(home)).toEqual([]);
  });

  it('a configFile that is not there: E_CONFIG naming the configFile option, without a stack', async () => {
    const { dir, home } = project(null);
    const error = await caught(() => berthSetup(vitestProject(dir), { home, configFile: 'nope.json' }));
    expectBare(error, 'E_CONFIG');
    expect(error.message).toContain('Check the configFile option');
    expect(error.message).not.toContain('--config');
  });
});

describe('createGlobalSetup (berth-ports/jest)', () => {
  it('refuses a bad option as the setup file is loaded, without a stack', async () => {
    const error = await caught(() => createGlobalSetup({ readyTimeoutMs: 'soon' } as never));
    expectBare(error, 'E_USAGE');
    expect(error.message).toContain('createGlobalSetup: option readyTimeoutMs must be');
  });

  it('an unknown name in services: E_UNKNOWN_SERVICE naming the option, without a stack', async () => {
    const { dir, home } = project({ services: { api: { preferred: [3000] } } });
    const setup = createGlobalSetup({ home, services: ['apii'], log: quiet });
    const error = await caught(() => setup({ rootDir: dir }));
    expectBare(error, 'E_UNKNOWN_SERVICE');
    expect(error.message).toContain('option services names an unknown service "apii". Did you mean "api"?');
    expect(leasesIn(home)).toEqual([]);
  });
});

describe('berthWebServers (berth-ports/playwright)', () => {
  it('rejects a bad option with E_USAGE naming it, without a stack', async () => {
    for (const [options, message] of [
      [{ env: 'x' }, 'berthWebServers: option env must be an object of variable names to string values'],
      [{ timeout: -1 }, 'berthWebServers: option timeout -1 is out of range'],
      [{ readyTimeoutMs: 5 }, 'berthWebServers: unknown option "readyTimeoutMs".'],
    ] as const) {
      const error = await caught(() => berthWebServers(options as never));
      expectBare(error, 'E_USAGE');
      expect(error.message).toContain(message);
    }
  });
});

describe('withoutStack', () => {
  it("keeps a BerthError's details in its stack, and leaves any other error as it is", async () => {
    const berth = new BerthError('E_CONFIG', 'berth.config.json has 1 problem.', {
      details: ['services.a: bad'],
    });
    expect(withoutStack(berth)).toBe(berth);
    expect(berth.stack).toBe('BerthError: berth.config.json has 1 problem.\n  - services.a: bad');
    const bug = new TypeError('boom');
    const stack = bug.stack;
    expect(await caught(() => atEntry(() => Promise.reject(bug)))).toBe(bug);
    expect(bug.stack).toBe(stack);
  });
});
