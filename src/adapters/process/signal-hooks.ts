/**
 * berth's listeners on the signals that end a process (SIGINT, SIGTERM, SIGHUP), told
 * apart from the user's own. A berth listener does its last work and then, when no
 * listener but berth's is left, removes itself and raises the signal again, so the
 * process dies by it as it would have without berth. When the user (or a test runner)
 * has a listener of its own, berth's stays out of the way: the process does what that
 * listener decides. Several berth listeners (a test run's interrupt hook, the etcd
 * registry's exit release) coexist: each counts only foreign listeners.
 */

/** Marks berth's listeners; `Symbol.for`, so that two copies of berth (ESM and CommonJS) agree. */
const BERTH_LISTENER = Symbol.for('berth.signal-listener');

/** The signals that end a process and that berth listens to. */
export const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

type Listener = (signal: NodeJS.Signals) => void;

/**
 * Marks `listener` as berth's and returns it.
 *
 * @example
 * process.on('SIGINT', berthListener((signal) => cleanUp()));
 */
export function berthListener<T extends Listener>(listener: T): T {
  (listener as unknown as Record<symbol, boolean>)[BERTH_LISTENER] = true;
  return listener;
}

/**
 * Listeners on `signal` that are not berth's: the user's own handlers, a test runner's.
 *
 * @example
 * if (foreignListeners('SIGINT') === 0) process.kill(process.pid, 'SIGINT');
 */
export function foreignListeners(signal: NodeJS.Signals): number {
  return process
    .listeners(signal)
    .filter((l) => (l as unknown as Record<symbol, boolean>)[BERTH_LISTENER] !== true).length;
}

/**
 * Raises `signal` again when no foreign listener is left, so the process dies by it.
 * Call after removing the calling listener.
 *
 * @example
 * process.off(signal, onSignal);
 * reraise(signal);
 */
export function reraise(signal: NodeJS.Signals): void {
  if (foreignListeners(signal) === 0) process.kill(process.pid, signal);
}
