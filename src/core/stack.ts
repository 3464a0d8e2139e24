/**
 * `berth up`'s decisions, pure: one state machine per running unit, and what
 * to start, stop or restart next, from the units' states and the dependency
 * graph. The runner (src/compose/stack/) does the I/O and asks these.
 */
import type { RestartPolicy, RunSpec, StopSignal } from './types.js';

/** Signals a service may name as `stopSignal`. */
export const STOP_SIGNALS: readonly StopSignal[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGKILL',
];

/** The `restart` policies. */
export const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-failure', 'always'];

/** Milliseconds between a service's stop signal and SIGKILL, unless it sets `stopTimeout`. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/**
 * The run settings of a service `berth up` does not run (no `command`): the
 * defaults, for configs built in code and tests.
 *
 * @example
 * const spec: ServiceSpec = { name: 'db', ..., run: leaseOnly('/work/shop') };
 */
export function leaseOnly(cwd: string): RunSpec {
  return {
    command: null,
    cwd,
    env: {},
    dependsOn: [],
    ready: null,
    restart: 'no',
    maxRestarts: null,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
  };
}
