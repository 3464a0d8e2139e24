/**
 * From the attempts on each loopback address to one health verdict. Pure: the
 * sockets live in attempts.ts, the ranking of what went wrong lives here.
 */
import type { CheckStatus } from '../../core/types.js';

/** What one attempt on one address found. */
export type AttemptKind =
  /** Connected (tcp) or answered with an accepted status (http). */
  | 'ok'
  /** Answered, with a status the check does not accept. */
  | 'status'
  /** No connection or no answer within the timeout. */
  | 'timeout'
  /** Nothing accepts connections on that address. */
  | 'refused'
  /** The address itself is not usable here (IPv6 disabled, no route). */
  | 'unavailable'
  /** Any other failure: a reset, a malformed answer. */
  | 'error'
  /** Cancelled because another address already answered. */
  | 'aborted';

/** One attempt on one address. */
export interface Attempt {
  /** The address tried: `127.0.0.1` or `::1`. */
  host: string;
  kind: AttemptKind;
  /** Human reason for anything but `ok`, e.g. `GET / answered 503 (expected a status below 500)`. */
  reason: string | null;
  /** Milliseconds from the start of the attempt to its outcome. */
  latencyMs: number;
}

/** What a health check concludes. */
export interface HealthResult {
  /** `not-running` when nothing accepts connections on any address: the service is not started. */
  status: CheckStatus;
  /** Why it is not healthy; `null` when healthy. */
  reason: string | null;
  /** Milliseconds the deciding attempt took. */
  latencyMs: number;
  /** The address whose attempt decided the verdict (`127.0.0.1` or `::1`), `null` when none did. */
  address: string | null;
}

/**
 * How telling a failure is, most telling first: an answer with the wrong
 * status says more than a timeout, which says more than a reset, which says
 * more than "refused" (expected on the address the server does not use), and
 * an unusable address says nothing about the service.
 */
const RANK: Record<AttemptKind, number> = {
  ok: 6,
  status: 5,
  timeout: 4,
  error: 3,
  refused: 2,
  unavailable: 1,
  aborted: 0,
};

/**
 * Combines the attempts on every address: healthy when any address answered
 * well (a server on ::1 only is healthy); not running when nothing listens
 * anywhere (a refusal, the other addresses refused or unusable here);
 * otherwise unhealthy with the most telling failure.
 *
 * @example
 * verdict([
 *   { host: '127.0.0.1', kind: 'refused', reason: 'connection refused', latencyMs: 1 },
 *   { host: '::1', kind: 'ok', reason: null, latencyMs: 2 },
 * ]); // { status: 'healthy', reason: null, latencyMs: 2, address: '::1' }
 */
export function verdict(attempts: readonly Attempt[]): HealthResult {
  const ok = attempts.find((a) => a.kind === 'ok');
  if (ok) return { status: 'healthy', reason: null, latencyMs: ok.latencyMs, address: ok.host };
  let worst: Attempt | undefined;
  for (const a of attempts) if (worst === undefined || RANK[a.kind] > RANK[worst.kind]) worst = a;
  if (worst === undefined)
    return { status: 'unhealthy', reason: 'no address to check', latencyMs: 0, address: null };
  const closed = attempts.filter((a) => a.kind === 'refused' || a.kind === 'unavailable');
  if (closed.length === attempts.length) {
    // Nothing listens anywhere: name every address tried, so "not on ::1 either" is visible.
    const hosts = attempts.map((a) => a.host).join(' and ');
    const latencyMs = Math.max(...attempts.map((a) => a.latencyMs));
    if (worst.kind === 'refused') {
      return { status: 'not-running', reason: `connection refused on ${hosts}`, latencyMs, address: null };
    }
    // No address was usable at all: that says nothing about the service, not even that it is stopped.
    return {
      status: 'unhealthy',
      reason: `${worst.reason ?? 'address unusable'} on ${hosts}`,
      latencyMs,
      address: null,
    };
  }
  return {
    status: 'unhealthy',
    reason: `${worst.reason ?? worst.kind} on ${worst.host}`,
    latencyMs: worst.latencyMs,
    address: worst.host,
  };
}
