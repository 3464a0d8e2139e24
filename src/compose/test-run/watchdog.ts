/**
 * A test run's watchdog: a small detached process that outlives the runner.
 * Runners die in ways no exit hook sees (SIGKILL, an OOM kill, a CI job
 * cancelled), and the services berth started for the run sit in process
 * groups of their own, so nothing else would stop them. The watchdog polls
 * the runner; when it is gone, it does what `berth down` does for a killed
 * `berth up` (src/compose/stack/down.ts: each group stopped in reverse
 * dependency order, SIGKILL after its stopTimeout), then releases the run's
 * leases. A teardown that finished stops the watchdog.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { startDetached } from '../../adapters/process/detach.js';
import type { ProcessGroupRef } from '../../core/facts.js';
import type { LeaseOwner, ResolvedConfig } from '../../core/types.js';
import { type Adapters, createAdapters } from '../context.js';
import { createManagerFor } from '../manager.js';
import { downStack } from '../stack/down.js';
import { releaseRunIn } from './release.js';

/** The variable that carries the {@link WatchdogPayload} to the watchdog, as JSON. */
export const WATCHDOG_VARIABLE = 'BERTH_WATCHDOG';

/** How often the watchdog looks whether the runner lives, in milliseconds. */
export const WATCHDOG_POLL_MS = 250;

/** What the watchdog guards. */
export interface WatchdogPayload {
  /** The registry folder. */
  home: string;
  /** The runner's process (vitest's or Jest's main process). */
  runner: LeaseOwner;
  runId: string;
  /** The run's config (its environment is the run's scope), `null` without one. */
  config: ResolvedConfig | null;
}

/**
 * The built watchdog script of this package (`dist/runners/watchdog.js`, found
 * through the package's own name, so from ESM, CommonJS and the sources alike),
 * or `null` when it is not built.
 */
export function watchdogScript(): string | null {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('berth/package.json'));
    const script = join(root, 'dist/runners/watchdog.js');
    return existsSync(script) ? script : null;
  } catch {
    return null;
  }
}

/**
 * Starts the watchdog of a run; its group, or `null` when it could not start
 * (the run goes on: only a killed runner's services would outlive it).
 *
 * @example
 * const watchdog = startWatchdog({ home, runner: adapters.processes.self(), runId, config });
 */
export function startWatchdog(payload: WatchdogPayload, script = watchdogScript()): ProcessGroupRef | null {
  if (script === null) return null;
  return startDetached(script, { [WATCHDOG_VARIABLE]: JSON.stringify(payload) });
}

/**
 * The watchdog's work: waits until the runner is gone, then stops what the
 * run's `berth up` machinery left and releases the run's leases.
 *
 * @example
 * await guardRun(JSON.parse(process.env.BERTH_WATCHDOG!));
 */
export async function guardRun(
  payload: WatchdogPayload,
  options: { adapters?: Adapters; pollMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const adapters = options.adapters ?? createAdapters({ home: payload.home });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  try {
    while (adapters.processes.isAlive(payload.runner)) await sleep(options.pollMs ?? WATCHDOG_POLL_MS);
    const { config } = payload;
    if (config !== null) await downStack(createManagerFor(config, adapters), { emit: () => {} });
    const scope = config === null ? null : { dir: config.dir, environment: config.environment };
    await adapters.registry.transaction((tx) =>
      releaseRunIn(tx, { runId: payload.runId, scope }, adapters.now()),
    );
  } finally {
    adapters.runs.close();
    adapters.registry.close();
  }
}
