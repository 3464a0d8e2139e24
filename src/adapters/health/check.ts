/**
 * A service's health check (`health` in the config): a TCP connect or an HTTP
 * GET, tried on 127.0.0.1 and ::1 at once, because since Node 17 `localhost`
 * may resolve to ::1 first and a dev server may listen on only one of them.
 */
import type { HealthChecker } from '../../core/facts.js';
import type { HealthSpec } from '../../core/types.js';
import { httpAttempt, tcpAttempt } from './attempts.js';
import { type Attempt, type HealthResult, verdict } from './verdict.js';

/** The loopback addresses every check tries: IPv4 first, so its failure is named first. */
export const HEALTH_HOSTS: readonly string[] = ['127.0.0.1', '::1'];

/** Options of {@link checkHealth}. */
export interface CheckHealthOptions {
  /** Addresses to try; default {@link HEALTH_HOSTS}. */
  hosts?: readonly string[];
  /** Caps the spec's `timeoutMs` (e.g. `berth wait`'s remaining time). */
  maxTimeoutMs?: number;
}

/**
 * Runs `spec` against `port` on every loopback address: healthy as soon as one
 * address answers well (the others are cancelled), otherwise unhealthy with the
 * most telling reason (`GET / answered 503 ...`, `... timed out after 5000 ms`,
 * `connection refused on 127.0.0.1 and ::1`). Never rejects.
 *
 * @example
 * const health = await checkHealth(
 *   { type: 'http', path: '/healthz', expectStatus: 200, intervalMs: 1000, timeoutMs: 2000 },
 *   3000,
 * );
 * if (health.status === 'unhealthy') console.log(health.reason);
 */
export async function checkHealth(
  spec: HealthSpec,
  port: number,
  options: CheckHealthOptions = {},
): Promise<HealthResult> {
  const timeoutMs = Math.max(1, Math.min(spec.timeoutMs, options.maxTimeoutMs ?? spec.timeoutMs));
  const controller = new AbortController();
  const attempts: Promise<Attempt>[] = (options.hosts ?? HEALTH_HOSTS).map(async (host) => {
    const target = { host, port, timeoutMs, signal: controller.signal };
    const result =
      spec.type === 'http'
        ? await httpAttempt(target, { path: spec.path, expectStatus: spec.expectStatus })
        : await tcpAttempt(target);
    if (result.kind === 'ok') controller.abort();
    return result;
  });
  return verdict(await Promise.all(attempts));
}

/**
 * The {@link HealthChecker} the composition runs on: {@link checkHealth} on 127.0.0.1 and ::1.
 *
 * @example
 * const health = await createHealthChecker().check(spec, 3000, { maxTimeoutMs: 500 });
 */
export function createHealthChecker(): HealthChecker {
  return { check: (spec, port, options) => checkHealth(spec, port, options) };
}
