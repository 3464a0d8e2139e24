/**
 * `berth-ports/jest`: ports for Jest that no other process gets, whatever runs
 * beside it (other Jest processes of a monorepo, CI shards on one host,
 * another worktree). Works from CommonJS (no `--experimental-vm-modules`).
 *
 * - `globalSetup: 'berth-ports/jest/setup'` leases the project's services for the
 *   run (the config's `test` environment), starts those with a `command` as
 *   `berth up` does and waits until they are ready. Jest's globals do not reach
 *   the tests (jest#6007), so the ports travel in the environment:
 *   `BERTH_PORTS` and `BERTH_URLS` (JSON, read with {@link berthPorts}), and
 *   `<NAME>_PORT` / `<NAME>_URL` as `berth env` prints them.
 * - `globalTeardown: 'berth-ports/jest/teardown'` stops them and releases every
 *   lease of the run, the workers' included.
 * - `workerPort(name)` / `workerPorts(n)` lease ports for the calling worker.
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth-ports/jest/setup', globalTeardown: 'berth-ports/jest/teardown' };
 * // a test
 * const { berthPorts, workerPort } = require('berth-ports/jest');
 * const { urls } = berthPorts();
 * server.listen(await workerPort());
 */
import { checkOptions, SETUP_OPTIONS } from '../../compose/test-run/options.js';
import { startTestRun, type TestRun, type TestRunOptions } from '../../compose/test-run/session.js';
import { leaseWorkerPort, leaseWorkerPorts, type WorkerRef } from '../../compose/test-run/worker.js';
import { type RunValues, readRunValues } from '../../core/test-run.js';
import { atEntry, atEntrySync } from '../boundary.js';

export type { RunValues } from '../../core/test-run.js';

/** Options of {@link createGlobalSetup}: those of the test run, with Jest's root folder as the default folder. */
export interface BerthJestOptions extends Omit<TestRunOptions, 'runner' | 'cwd'> {
  /** Folder the config is looked for from, upward; default the Jest project's `rootDir`. */
  cwd?: string;
}

/** The part of Jest's config berth reads (`rootDir`). */
export interface JestConfigLike {
  rootDir: string;
}

/**
 * Where the runs of this process wait for the teardown. Jest loads the setup and
 * the teardown as two modules (two bundles in the CommonJS build), in one process:
 * a global is what they share, as Jest's documentation says.
 */
const RUNS = Symbol.for('berth.jest.runs');

function pending(): TestRun[] {
  const store = globalThis as { [RUNS]?: TestRun[] };
  store[RUNS] ??= [];
  return store[RUNS];
}

/**
 * A Jest `globalSetup` function with options, for a setup file of your own.
 *
 * @example
 * // jest.global-setup.js, named in jest.config.js's globalSetup
 * const { createGlobalSetup } = require('berth-ports/jest');
 * module.exports = createGlobalSetup({ services: ['api'], verbose: true });
 */
export function createGlobalSetup(
  options: BerthJestOptions = {},
): (globalConfig: JestConfigLike, projectConfig?: JestConfigLike) => Promise<void> {
  // Checked at once, so a setup file with a wrong option fails as Jest loads it.
  atEntrySync(() => checkOptions('createGlobalSetup', options, SETUP_OPTIONS));
  return (globalConfig, projectConfig) =>
    atEntry(async () => {
      const cwd = options.cwd ?? projectConfig?.rootDir ?? globalConfig.rootDir;
      const run = await startTestRun({ ...options, runner: 'jest', cwd });
      pending().push(run);
      // Set before Jest starts its workers, which inherit the environment.
      Object.assign(process.env, run.env);
    });
}

/**
 * Jest's `globalSetup` (`berth-ports/jest/setup`): {@link createGlobalSetup} with the defaults.
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth-ports/jest/setup', globalTeardown: 'berth-ports/jest/teardown' };
 */
export const globalSetup = createGlobalSetup();

/**
 * Jest's `globalTeardown` (`berth-ports/jest/teardown`): stops the services of every
 * run the setup started in this process and releases all their leases.
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth-ports/jest/setup', globalTeardown: 'berth-ports/jest/teardown' };
 */
export function globalTeardown(): Promise<void> {
  return atEntry(() => endRuns(pending().splice(0)));
}

async function endRuns(runs: readonly TestRun[]): Promise<void> {
  await Promise.all(
    runs.map(async (run) => {
      try {
        await run.stop();
      } finally {
        for (const [key, value] of Object.entries(run.env)) {
          if (process.env[key] === value) delete process.env[key];
        }
      }
    }),
  );
}

/**
 * The ports and URLs the global setup leased, read from `BERTH_PORTS` and
 * `BERTH_URLS`; empty without the setup or a config.
 *
 * @example
 * const { ports, urls } = berthPorts();
 * await fetch(`${urls.api}/health`);
 */
export function berthPorts(env: Readonly<Record<string, string | undefined>> = process.env): RunValues {
  return readRunValues(env);
}

const worker = (): WorkerRef => ({ runner: 'jest', worker: process.env.JEST_WORKER_ID ?? null });

/**
 * A port leased for this Jest worker under `name` (default `port`): the same
 * port for the same name while the worker lives, never one another process
 * holds. Released when the worker exits, or by the run's teardown.
 *
 * @example
 * const { workerPort } = require('berth-ports/jest');
 * const port = await workerPort('api');
 */
export function workerPort(name?: string): Promise<number> {
  return leaseWorkerPort(worker(), name);
}

/**
 * `count` ports leased for this Jest worker, the same ones on every call. `count` is a whole number from 0 to 256;
 * a call that fails leaves none of its ports leased (E_USAGE, E_NO_PORT).
 *
 * @example
 * const [http, grpc] = await workerPorts(2);
 */
export function workerPorts(count: number): Promise<number[]> {
  return leaseWorkerPorts(worker(), count);
}
