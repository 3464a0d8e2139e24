/**
 * The bound on one probe: argument checks and a timeout that says so, kept
 * apart from the sockets so it can be tested with a probe that never ends.
 */

import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
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
  return Promise.resolve(probeWithin(port, timeoutMs, probe));
}

/**
 * {@link withProbeTimeout}, answered at once when `probe` answers at once (a bind
 * that succeeds inside `listen()`): then no timeout is armed, as none could fire.
 *
 * @example
 * const outcome = probeWithin(3000, 2000, () => (server.listening ? 'free' : whenBound(server)));
 * const result = typeof outcome === 'string' ? outcome : await outcome;
 */
export function probeWithin(
  port: number,
  timeoutMs: number,
  probe: () => ProbeResult | Promise<ProbeResult>,
): ProbeResult | Promise<ProbeResult> {
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
  // From before the probe starts: its synchronous part counts toward the bound too.
  const deadline = performance.now() + Math.min(timeoutMs, MAX_TIMER_MS);
  let running: ProbeResult | Promise<ProbeResult>;
  try {
    running = probe();
  } catch (error) {
    return Promise.reject(error);
  }
  if (typeof running === 'string') return running;
  const pending = running;
  return new Promise((resolve, reject) => {
    const watched: Watched = {
      deadline,
      expire: () =>
        reject(
          new BerthError(
            'E_TIMEOUT',
            `probe of port ${port} timed out after ${timeoutMs} ms. The machine may be overloaded: try again, or raise healthCheckTimeout.`,
            { data: { port, timeoutMs } },
          ),
        ),
    };
    watch(watched);
    pending.then(
      (result) => {
        unwatch(watched);
        resolve(result);
      },
      (error: unknown) => {
        unwatch(watched);
        reject(error);
      },
    );
  });
}

/** A probe in flight: when it times out, and what to do then. */
interface Watched {
  deadline: number;
  expire(): void;
}

/**
 * The timeouts of the probes in flight share one timer, armed for the earliest deadline
 * and kept between probes: a timer of its own per probe (created, inserted, cleared)
 * cost 2.5-3 us of a getPort call made alone, 9-10 us beside other libraries' calls (a
 * bind settles in a few microseconds; the timeout is for a machine too loaded to answer).
 * The timer keeps the process alive only while a probe is in flight, as a probe's own
 * timer did. The timer functions and the clock are node's own, not the globals a test's
 * fake timers replace: a watchdog armed on a fake clock would otherwise outlive it.
 */
const inFlight = new Set<Watched>();
let watchdog: NodeJS.Timeout | undefined;
let watchdogAt = Number.POSITIVE_INFINITY;

function watch(watched: Watched): void {
  inFlight.add(watched);
  if (watched.deadline < watchdogAt) armWatchdog(watched.deadline);
  else if (inFlight.size === 1) watchdog?.ref();
}

function unwatch(watched: Watched): void {
  if (inFlight.delete(watched) && inFlight.size === 0) watchdog?.unref();
}

function armWatchdog(at: number): void {
  if (watchdog) clearTimeout(watchdog);
  watchdogAt = at;
  watchdog = setTimeout(expireDue, Math.max(0, at - performance.now()));
}

/**
 * Rejects the probes past their deadline, earliest first (a timer that fired late finds
 * several due), and arms the timer for the next deadline, if any.
 */
function expireDue(): void {
  watchdog = undefined;
  watchdogAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  const due: Watched[] = [];
  let next = Number.POSITIVE_INFINITY;
  for (const watched of inFlight) {
    if (watched.deadline <= now) due.push(watched);
    else next = Math.min(next, watched.deadline);
  }
  due.sort((a, b) => a.deadline - b.deadline);
  for (const watched of due) {
    inFlight.delete(watched);
    watched.expire();
  }
  if (next !== Number.POSITIVE_INFINITY) armWatchdog(next);
}
