/**
 * The bound on one probe: argument checks and a timeout that says so, kept
 * apart from the sockets so it can be tested with a probe that never ends.
 */

import type { ProbeResult } from '../../core/facts.js';
import { isPort } from '../../core/policy.js';
import { BerthError } from '../../errors.js';

/** Default bound on one probe, in milliseconds; callers pass the config's `healthCheckTimeout`. */
export const PROBE_TIMEOUT_MS = 5000;

/** setTimeout's ceiling: a longer delay would fire after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Runs `probe` for `port` after checking both arguments (`E_USAGE`), and
 * rejects with `E_TIMEOUT` when it has not settled after `timeoutMs`. A probe
 * that finishes late still cleans up after itself; its result is dropped.
 *
 * @example
 * await withProbeTimeout(3000, 2000, () => bindAndRelease(3000));
 */
export function withProbeTimeout(
  port: number,
  timeoutMs: number,
  probe: () => Promise<ProbeResult>,
): Promise<ProbeResult> {
  if (!isPort(port)) {
    return Promise.reject(
      new BerthError(
        'E_USAGE',
        `cannot probe port ${String(port)}: not a TCP port. Use an integer from 1 to 65535.`,
        {
          data: { port },
        },
      ),
    );
  }
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    return Promise.reject(
      new BerthError(
        'E_USAGE',
        `probe timeout ${String(timeoutMs)} ms is not a positive number. Pass a timeout in milliseconds, such as 5000.`,
        { data: { port, timeoutMs } },
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        reject(
          new BerthError(
            'E_TIMEOUT',
            `probe of port ${port} timed out after ${timeoutMs} ms. The machine may be overloaded: try again, or raise healthCheckTimeout.`,
            { data: { port, timeoutMs } },
          ),
        );
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    probe().then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
