/**
 * `berth-ports/vitest`: ports for vitest that no other process gets, whatever runs
 * beside it (other vitest processes of a monorepo, CI shards on one host,
 * another worktree).
 *
 * - The global setup `berth-ports/vitest/setup` leases the project's services for the
 *   run (the config's `test` environment), starts those with a `command` as
 *   `berth up` does and waits until they are ready, and provides their ports and
 *   URLs to the tests (`inject('berth')`); its teardown stops them and releases
 *   every lease of the run, the workers' included.
 * - `workerPort(name)` / `workerPorts(n)` lease ports for the calling worker.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['berth-ports/vitest/setup'] } });
 * // a test
 * import { inject } from 'vitest';
 * import { workerPort } from 'berth-ports/vitest';
 * const { urls } = inject('berth');
 * server.listen(await workerPort());
 */
import type { TestProject } from 'vitest/node';
import { checkOptions, SETUP_OPTIONS } from '../../compose/test-run/options.js';
import { startTestRun, type TestRun, type TestRunOptions } from '../../compose/test-run/session.js';
import { leaseWorkerPort, leaseWorkerPorts, type WorkerRef } from '../../compose/test-run/worker.js';
import type { RunValues } from '../../core/test-run.js';
import { atEntry } from '../boundary.js';

// Loads vitest's types for the augmentation below (type-only: nothing of vitest is imported at run time).
export type { ProvidedContext } from 'vitest';
export type { RunValues } from '../../core/test-run.js';

/** What the global setup provides to the tests: `inject('berth')`. */
export interface BerthProvided extends RunValues {
  /** The run's id: every lease of the run carries it (`berth ls`). */
  runId: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The ports and URLs of berth's services for this run (berth-ports/vitest/setup). */
    berth: BerthProvided;
  }
}

/** Options of {@link berthSetup}: those of the test run, with the project's root as the default folder. */
export interface BerthVitestOptions extends Omit<TestRunOptions, 'runner' | 'cwd'> {
  /** Folder the config is looked for from, upward; default the vitest project's root. */
  cwd?: string;
}

/** The vitest project as the global setup sees it (vitest 4's `TestProject`, the part berth uses). */
export type SetupProject = Pick<TestProject, 'provide'> & { config: Pick<TestProject['config'], 'root'> };

/**
 * The global setup's work, for a setup file of your own: leases the services
 * (and starts those with a command), provides `{ ports, urls, runId }` and sets
 * `BERTH_RUN_ID`, `BERTH_PORTS`, `BERTH_URLS`, `<NAME>_PORT` and `<NAME>_URL`
 * for the workers. Returns the teardown.
 *
 * @example
 * // test/global-setup.ts, listed in `globalSetup`
 * import type { TestProject } from 'vitest/node';
 * import { berthSetup } from 'berth-ports/vitest';
 * export default function setup(project: TestProject) {
 *   return berthSetup(project, { services: ['api'], verbose: true });
 * }
 */
export async function berthSetup(
  project: SetupProject,
  options: BerthVitestOptions = {},
): Promise<() => Promise<void>> {
  return atEntry(async () => {
    checkOptions('berthSetup', options, SETUP_OPTIONS);
    const run = await startTestRun({ ...options, runner: 'vitest', cwd: options.cwd ?? project.config.root });
    Object.assign(process.env, run.env);
    project.provide('berth', { ...run.values, runId: run.runId });
    return () => atEntry(() => endRun(run));
  });
}

async function endRun(run: TestRun): Promise<void> {
  try {
    await run.stop();
  } finally {
    for (const [key, value] of Object.entries(run.env))
      if (process.env[key] === value) delete process.env[key];
  }
}

/** The teardowns of this module's `setup` runs, called by its `teardown`. */
const teardowns: (() => Promise<void>)[] = [];

/**
 * vitest's `globalSetup` `setup`: {@link berthSetup} with the defaults.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ['berth-ports/vitest/setup'] } });
 */
export async function setup(project: SetupProject): Promise<void> {
  teardowns.push(await berthSetup(project));
}

/**
 * vitest's `globalSetup` `teardown`: stops the services of every run `setup`
 * started and releases all their leases.
 *
 * @example
 * // vitest.config.ts: globalSetup: ['berth-ports/vitest/setup'] calls it after the run
 */
export function teardown(): Promise<void> {
  return atEntry(async () => {
    await Promise.all(teardowns.splice(0).map((end) => end()));
  });
}

const worker = (): WorkerRef => ({ runner: 'vitest', worker: process.env.VITEST_POOL_ID ?? null });

/**
 * A port leased for this vitest worker under `name` (default `port`): the same
 * port for the same name while the worker lives, never one another process
 * holds. Released when the worker exits, or by the run's teardown.
 *
 * @example
 * import { workerPort } from 'berth-ports/vitest';
 * const port = await workerPort('api');
 * server.listen(port);
 */
export function workerPort(name?: string): Promise<number> {
  return leaseWorkerPort(worker(), name);
}

/**
 * `count` ports leased for this vitest worker, the same ones on every call. `count` is a whole number from 0 to 256;
 * a call that fails leaves none of its ports leased (E_USAGE, E_NO_PORT).
 *
 * @example
 * import { workerPorts } from 'berth-ports/vitest';
 * const [http, grpc] = await workerPorts(2);
 */
export function workerPorts(count: number): Promise<number[]> {
  return leaseWorkerPorts(worker(), count);
}
