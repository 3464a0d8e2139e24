/**
 * `berth up`'s composition: read (the config's services, what already runs
 * here), plan (lease every port as `berth assign` does; the stack's units from
 * src/core/stack.ts), then apply (the runner starts the units in order).
 */
import { stackGraph } from '../../core/stack.js';
import { BerthError } from '../../errors.js';
import type { PortManager } from '../manager.js';
import { checkServiceNames, projectOf } from '../project.js';
import type { StackEvent } from './events.js';
import { READY_POLL_MS } from './readiness.js';
import { RunRecorder } from './record.js';
import { type StackOutcome, StackRunner } from './runner.js';
import { describeOrphans, stackStatus } from './status.js';

export type { StackEvent, UpService } from './events.js';
export type { StackOutcome } from './runner.js';

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Services to run; their dependencies come along. Empty: every service with a command. */
  services: readonly string[];
  /** Where the stack's events go. */
  emit: (event: StackEvent) => void;
  /** The environment the commands inherit; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Timers; tests pass fast ones. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds between readiness probes; default {@link READY_POLL_MS}. */
  pollMs?: number;
  /** Each service's name through the proxy, for the summary. */
  names?: ReadonlyMap<string, string>;
  /** URLs that replace the port URLs in `<NAME>_URL` (`"urls": "named"`). */
  urls?: ReadonlyMap<string, string>;
}

/** A stack that runs. */
export interface RunningStack {
  /** The units, in start order. */
  readonly units: readonly string[];
  /** Stops the stack in reverse dependency order; called again, kills what still runs at once. */
  stop(): void;
  /** Resolves when the stack is down: leases released, rows removed. */
  readonly done: Promise<StackOutcome>;
  /** Every unit's phase now. */
  phases(): Record<string, string>;
}

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
export const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    // The listener goes with the timer: a readiness poll sleeps thousands of times on one signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Starts the stack of `pm`'s project: refuses when one already runs here (or a
 * killed one left processes), leases every service's port (the `assigned`
 * event carries the decisions), then starts the units in dependency order.
 *
 * @example
 * const stack = await startStack(pm, { services: [], emit: (e) => console.log(e) });
 * process.once('SIGINT', () => stack.stop());
 * const { code } = await stack.done;
 */
export async function startStack(pm: PortManager, options: StackOptions): Promise<RunningStack> {
  const { config, adapters } = pm;
  checkServiceNames(config, options.services);
  const graph = stackGraph(config.services, options.services.length > 0 ? options.services : null);
  const project = projectOf(config, adapters);
  const self = adapters.processes.self();
  const status = stackStatus(adapters, project);
  if (status.state === 'running' && status.runner.pid !== self.pid) {
    throw new BerthError(
      'E_REFUSED',
      `berth up already runs this stack (pid ${status.runner.pid}, ${config.dir}, environment ${config.environment}). Stop it with \`berth down\` first, or use another environment (--env).`,
      { data: { pid: status.runner.pid } },
    );
  }
  if (status.state === 'orphaned') {
    throw new BerthError(
      'E_REFUSED',
      `a berth up that was killed (pid ${status.runner.pid}) left processes running: ${describeOrphans(status.orphans)}. Stop them with \`berth down\` first.`,
      { data: { pid: status.runner.pid, services: status.orphans.map((r) => r.service) } },
    );
  }
  if (status.state === 'stale') adapters.runs.clear(project.scope);

  const leasedBefore = new Set(pm.leases().map((l) => l.service));
  const result = await pm.assignAll();
  options.emit({ type: 'assigned', decisions: result.decisions });
  const ports = new Map(Object.entries(result.services).map(([name, s]) => [name, s.port]));
  // Until a unit's process runs, its leases belong to berth up (reclaimed if it dies).
  const served = graph.units.filter((u) => u.kind === 'process').flatMap((u) => u.serves);
  await pm.setOwner(served, self);

  const runner = new StackRunner({
    pm,
    graph,
    ports,
    emit: options.emit,
    env: options.env ?? process.env,
    recorder: new RunRecorder(adapters.runs, config, self, adapters.now),
    self,
    sleep: options.sleep ?? defaultSleep,
    pollMs: options.pollMs ?? READY_POLL_MS,
    leasedForRun: Object.keys(result.services).filter(
      (name) => !leasedBefore.has(name) && !served.includes(name),
    ),
    ...(options.names ? { names: options.names } : {}),
    ...(options.urls ? { urls: options.urls } : {}),
  });
  runner.begin();
  return {
    units: graph.units.map((u) => u.name),
    stop: () => runner.stop(),
    done: runner.done,
    phases: () => runner.phases(),
  };
}
