/**
 * Readiness: a service is ready once a process of the tree `berth up` started
 * binds its port and, when it has one, its `ready` check (else its health
 * check) passes. A port bound by a stranger never counts: that is a port
 * taken, which the runner answers by moving the service (autoReassign).
 */
import { diagnosePort } from '../../core/diagnose.js';
import type { HealthSpec } from '../../core/types.js';
import type { Adapters } from '../context.js';

/** How often a starting service is probed, in milliseconds. */
export const READY_POLL_MS = 200;

/** A service not ready after this long gets one line saying what it waits for, in milliseconds. */
export const SLOW_START_MS = 10_000;

/** One look at a service's port. */
export type Readiness =
  | { state: 'ready' }
  | { state: 'waiting'; reason: string }
  /** A process outside the stack's tree listens on the port. */
  | { state: 'taken'; holder: string };

/** What to probe. */
export interface ReadinessTarget {
  port: number;
  /** The check to pass once the port is bound; `null`: bound is ready. */
  check: HealthSpec | null;
  /**
   * The process whose tree must bind the port (berth up itself: every service
   * descends from it), or `null` for a service berth does not start, which
   * anyone may serve.
   */
  ancestor: number | null;
}

/** Who holds `port`, seen from `ancestor`'s tree: free, bound by the tree, or taken by a stranger (described). */
export async function portHolder(
  adapters: Pick<Adapters, 'freshListeners' | 'holders' | 'tree'>,
  port: number,
  ancestor: number | null,
): Promise<{ state: 'free' } | { state: 'bound' } | { state: 'taken'; holder: string }> {
  const listeners = await adapters.freshListeners.read();
  // The cheap answer first: nothing listens (the usual state while a service starts).
  if (listeners !== null && !listeners.some((l) => l.port === port)) return { state: 'free' };
  const found = await adapters.holders.find(port, listeners);
  const { state, holder } = diagnosePort({ ownerPid: ancestor, stale: null }, found, (pid) =>
    adapters.tree.parentOf(pid),
  );
  if (state === 'free') return { state: 'free' };
  if (state === 'foreign') {
    const who = holder
      ? `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`
      : "another user's process";
    return { state: 'taken', holder: who };
  }
  return { state: 'bound' };
}

/**
 * One readiness probe.
 *
 * @example
 * await probeReadiness(adapters, { port: 3000, check: spec.run.ready, ancestor: process.pid });
 * // { state: 'waiting', reason: 'nothing listens on port 3000 yet' }
 */
export async function probeReadiness(
  adapters: Pick<Adapters, 'freshListeners' | 'holders' | 'tree' | 'health'>,
  target: ReadinessTarget,
): Promise<Readiness> {
  const held = await portHolder(adapters, target.port, target.ancestor);
  if (held.state === 'free')
    return { state: 'waiting', reason: `nothing listens on port ${target.port} yet` };
  if (held.state === 'taken') return held;
  if (target.check === null) return { state: 'ready' };
  const result = await adapters.health.check(target.check, target.port);
  if (result.status === 'healthy') return { state: 'ready' };
  return { state: 'waiting', reason: result.reason ?? `its ${target.check.type} check fails` };
}

/** Options of {@link waitUntilReady}. */
export interface WaitOptions {
  /** Milliseconds between probes. */
  intervalMs: number;
  /** Stops the wait (the process exited, the stack stops). */
  signal: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called once when the service is still waiting after `slowMs`. */
  onSlow?: (reason: string) => void;
  slowMs?: number;
  now: () => number;
}

/**
 * Probes until the service is ready or its port is taken; `null` when aborted.
 *
 * @example
 * const outcome = await waitUntilReady(() => probeReadiness(adapters, target), { intervalMs: 200, signal, sleep, now });
 */
export async function waitUntilReady(
  probe: () => Promise<Readiness>,
  options: WaitOptions,
): Promise<Exclude<Readiness, { state: 'waiting' }> | null> {
  const started = options.now();
  let warned = false;
  while (!options.signal.aborted) {
    const result = await probe();
    if (options.signal.aborted) return null;
    if (result.state !== 'waiting') return result;
    if (!warned && options.onSlow && options.now() - started >= (options.slowMs ?? SLOW_START_MS)) {
      warned = true;
      options.onSlow(result.reason);
    }
    try {
      await options.sleep(options.intervalMs, options.signal);
    } catch {
      return null;
    }
  }
  return null;
}
