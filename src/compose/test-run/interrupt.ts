/**
 * What a test run does when its runner is interrupted. Runners do not run
 * their teardown on Ctrl-C or SIGTERM (vitest exits a millisecond later; Jest
 * dies by the signal's default action), so this hook has one synchronous
 * chance: it sends every running service of the run its stop signal, and the
 * watchdog (watchdog.ts) finishes the job once the runner is gone. The same
 * hook runs on `exit`, for a runner that exits without its teardown.
 */

import { berthListener, ENDING_SIGNALS, reraise } from '../context.js';

/** The signals that interrupt a run. */
export const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ENDING_SIGNALS;

/**
 * Calls `stopNow` (synchronously) when the process is interrupted or exits.
 * Where berth's listeners are the signal's only ones, the process then dies by the
 * signal as it would have without berth. Returns the function that removes the hook.
 *
 * @example
 * const off = onInterrupt(() => signalEveryService());
 * // ... at teardown:
 * off();
 */
export function onInterrupt(stopNow: () => void): () => void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    try {
      stopNow();
    } catch {
      // The watchdog stops what this could not.
    }
  };
  const onSignal = berthListener((signal: NodeJS.Signals) => {
    once();
    off();
    reraise(signal);
  });
  const off = () => {
    for (const s of INTERRUPT_SIGNALS) process.off(s, onSignal);
    process.off('exit', once);
  };
  for (const s of INTERRUPT_SIGNALS) process.on(s, onSignal);
  process.on('exit', once);
  return off;
}
