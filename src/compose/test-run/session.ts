/**
 * A test run's services, for a runner's global setup (vitest, Jest): read the
 * config (none is fine: the run then only gives its workers ports), lease every
 * service in the run's own scope (two runs of one checkout never share a
 * lease), start those with a `command` through `berth up`'s machinery
 * (src/compose/stack/) and wait until they are ready, then hand back the ports,
 * URLs and variables for the tests. `stop()` is the teardown: the stack stops
 * in reverse order and every lease of the run goes, its workers' included.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { findConfigFile, loadConfig } from '../../config/load.js';
import type { ProcessGroupRef } from '../../core/facts.js';
import type { Scope } from '../../core/registry.js';
import {
  RUN_ID_VARIABLE,
  type RunValues,
  runEnvironment,
  runValues,
  runVariables,
  type TestRunner,
} from '../../core/test-run.js';
import type { ResolvedConfig } from '../../core/types.js';
import { wrongPortLine } from '../../core/wrong-port.js';
import { BerthError } from '../../errors.js';
import { type Adapters, berthHome, createAdapters, openAdapters } from '../context.js';
import { createManagerFor, type PortManager } from '../manager.js';
import type { StackEvent } from '../stack/events.js';
import { type RunningStack, startStack } from '../stack/start.js';
import { onInterrupt } from './interrupt.js';
import { checkServiceOption } from './options.js';
import { releaseRunIn } from './release.js';
import { startWatchdog } from './watchdog.js';

/** How long a run waits for its services to be ready by default, in milliseconds. */
export const READY_TIMEOUT_MS = 60_000;

/** Lines of each service's output kept to explain a failed start. */
const OUTPUT_KEPT = 20;

/** Options of {@link startTestRun}. */
export interface TestRunOptions {
  runner: TestRunner;
  /** Folder the config is looked for from, upward (the runner's root). */
  cwd: string;
  /** Config file, relative to `cwd`; default: found from `cwd` upward. None found: no services, worker ports only. */
  configFile?: string;
  /** The config's environment whose overrides apply; default `test`. */
  environment?: string;
  /** Services to start (what they depend on comes along); default every service with a `command`. */
  services?: readonly string[];
  /** Start the services' commands; default true. False: only lease the ports. */
  start?: boolean;
  /** Milliseconds to wait for every started service to be ready; default {@link READY_TIMEOUT_MS}. */
  readyTimeoutMs?: number;
  /** Registry folder; default `$BERTH_HOME`, `$XDG_STATE_HOME/berth` or `~/.local/state/berth`. */
  home?: string;
  /** Where berth's lines go (a moved port, a failed service); default stderr. */
  log?: (line: string) => void;
  /** Also print every line the services write; default false (their last lines are shown when one fails). */
  verbose?: boolean;
}

/** A test run that holds its ports (and runs its services). */
export interface TestRun {
  readonly runId: string;
  /** The ports and URLs of the run's services; empty without a config. */
  readonly values: RunValues;
  /** For the workers: `BERTH_RUN_ID`, `BERTH_PORTS`, `BERTH_URLS`, `<NAME>_PORT`, `<NAME>_URL`. */
  readonly env: Record<string, string>;
  /** The run's config (its `environment` is the run's scope), `null` without one. */
  readonly config: ResolvedConfig | null;
  /** Stops the services and releases every lease of the run, workers' included. Safe to call twice. */
  stop(): Promise<void>;
}

const stderrLog = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Starts a test run (see the module comment). Fails with `E_SERVICE_FAILED`
 * when a service exits before it is ready, `E_TIMEOUT` when one is not ready in
 * time; either way nothing of the run is left behind.
 *
 * @example
 * const run = await startTestRun({ runner: 'vitest', cwd: project.config.root });
 * Object.assign(process.env, run.env);
 * // ... tests ...
 * await run.stop();
 */
export async function startTestRun(options: TestRunOptions): Promise<TestRun> {
  const runId = randomBytes(4).toString('hex');
  const home = resolve(options.home ?? berthHome());
  const log = options.log ?? stderrLog;
  const cwd = resolve(options.cwd);
  const file = options.configFile ?? findConfigFile(cwd);
  if (file === null) {
    checkServiceOption(null, 'services', options.services ?? [], cwd);
    return withoutConfig(runId, createAdapters({ home }));
  }
  const environment = options.environment ?? 'test';
  const { config: loaded } = await loadConfig({ cwd, environment, file, fileOption: 'configFile' });
  checkServiceOption(loaded, 'services', options.services ?? [], cwd);
  // The config's registry (etcd) as the CLI would use it; loaded before planning reads it.
  const adapters = await openAdapters({ home, registry: loaded.registry ?? null });
  const pm: PortManager = createManagerFor(
    { ...loaded, environment: runEnvironment(environment, runId) },
    adapters,
  );
  const { config } = pm;
  const scope: Scope = { dir: config.dir, environment: config.environment };
  const self = adapters.processes.self();
  const starts =
    options.start !== false &&
    (options.services ?? config.services.filter((s) => s.run.command !== null).map((s) => s.name)).length > 0;
  let stack: RunningStack | null = null;
  let offInterrupt = () => {};
  let watchdog: ProcessGroupRef | null = null;
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      offInterrupt();
      try {
        if (stack) {
          stack.stop();
          await stack.done;
        }
        await adapters.registry.transaction((tx) => releaseRunIn(tx, { runId, scope }, adapters.now()));
      } finally {
        if (watchdog) stopWatchdog(adapters, watchdog);
        adapters.runs.close();
        adapters.registry.close();
      }
    })();
    return stopping;
  };
  try {
    // Before anything runs: if the runner is killed from here on, the watchdog cleans up.
    if (starts)
      watchdog = startWatchdog({ home, runner: self, runId, config, registry: loaded.registry ?? null });
    const assigned = await pm.assignAll({ owner: self });
    for (const d of assigned.decisions) if (d.skipped.length > 0) log(`berth: ${d.message}`);
    if (starts) {
      const waiter = readiness(log, options.verbose === true);
      stack = await startStack(pm, { services: options.services ?? [], emit: waiter.emit });
      const running = stack;
      offInterrupt = onInterrupt(() => signalServices(adapters, scope));
      await waiter.ready(running, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const ports = new Map(adapters.registry.scopeLeases(scope).map((l) => [l.service, l.port]));
  return {
    runId,
    values: runValues(config.services, ports),
    env: runVariables(config.services, ports, runId),
    config,
    stop,
  };
}

/** A run without a config: no services, only the run id its workers' leases carry. */
function withoutConfig(runId: string, adapters: Adapters): TestRun {
  let stopping: Promise<void> | null = null;
  return {
    runId,
    values: { ports: {}, urls: {} },
    env: { [RUN_ID_VARIABLE]: runId },
    config: null,
    stop: () => {
      stopping ??= adapters.registry
        .transaction((tx) => releaseRunIn(tx, { runId, scope: null }, adapters.now()))
        .then(
          () => undefined,
          () => undefined,
        )
        .finally(() => adapters.registry.close());
      return stopping;
    },
  };
}

/**
 * Synchronously sends every running service of the run its stop signal (the
 * runner is being interrupted; the watchdog escalates to SIGKILL if need be).
 */
function signalServices(adapters: Adapters, scope: Scope): void {
  for (const run of adapters.runs.scopeRuns(scope)) {
    if (run.service !== run.unit || run.group === null) continue;
    if (run.phase === 'stopped' || run.phase === 'exited' || run.phase === 'pending') continue;
    try {
      adapters.groups.signal(run.group, run.stopSignal);
    } catch {
      // Not ours to signal after all; the watchdog looks again.
    }
  }
}

function stopWatchdog(adapters: Adapters, watchdog: ProcessGroupRef): void {
  try {
    adapters.groups.signal(watchdog, 'SIGTERM');
  } catch {
    // It ends by itself once the runner is gone, finding nothing left to do.
  }
}

/** Waits for the stack's `up` event, keeping each service's last lines to explain a failure. */
function readiness(log: (line: string) => void, verbose: boolean) {
  const tails = new Map<string, string[]>();
  let settle: (outcome: { failed: string | null }) => void = () => {};
  const settled = new Promise<{ failed: string | null }>((r) => {
    settle = r;
  });
  const emit = (event: StackEvent) => {
    if (event.type === 'output') {
      const tail = tails.get(event.service) ?? [];
      tail.push(event.line);
      if (tail.length > OUTPUT_KEPT) tail.shift();
      tails.set(event.service, tail);
      if (verbose) log(`${event.service} | ${event.line}`);
    } else if (event.type === 'port-args') {
      log(`berth: ${event.service}: ${event.message}`);
    } else if (event.type === 'wrong-port') {
      const listener = { pid: event.pid, command: event.command, port: event.listening };
      log(`berth: ${event.service}: warning: ${wrongPortLine(listener, event.port, event.fix)}`);
    } else if (event.type === 'moved') {
      log(`berth: ${event.service} moved from port ${event.from} to ${event.to}: ${event.reason}`);
    } else if (event.type === 'up') {
      settle({ failed: null });
    } else if (event.type === 'failed') {
      settle({ failed: `${event.service} ${event.reason}` });
      const tail = tails.get(event.service) ?? [];
      if (!verbose && tail.length > 0) log(tail.map((line) => `${event.service} | ${line}`).join('\n'));
    }
  };
  const ready = async (stack: RunningStack, timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([
      settled,
      stack.done.then(() => ({ failed: 'the stack stopped' })),
      timeout,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const waiting = Object.entries(stack.phases())
        .filter(([, phase]) => phase !== 'ready' && phase !== 'exited')
        .map(([name]) => name);
      throw new BerthError(
        'E_TIMEOUT',
        `the test run's services were not ready within ${timeoutMs} ms (still waiting for ${waiting.join(', ') || 'none'}). Check their output (verbose: true) and ready checks, or raise readyTimeoutMs.`,
        { data: { services: waiting, timeoutMs } },
      );
    }
    if (outcome.failed !== null) {
      throw new BerthError(
        'E_SERVICE_FAILED',
        `a service of the test run did not come up: ${outcome.failed}. Its last lines are above; fix its command, or run it with \`berth up --env test\` to see it start.`,
        { data: { reason: outcome.failed } },
      );
    }
  };
  return { emit, ready };
}
