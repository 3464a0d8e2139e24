/**
 * One health attempt on one address: a TCP connect, or an HTTP GET with node:http.
 * Every attempt ends within its timeout (the socket is destroyed, never left to
 * linger) and resolves, never rejects: failures are data for verdict.ts.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Attempt, AttemptKind } from './verdict.js';

/** Errors that say the address is unusable on this machine, not that the service is down. */
const UNAVAILABLE = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'ENETUNREACH', 'EHOSTUNREACH']);

/** What every attempt needs. */
export interface AttemptTarget {
  host: string;
  port: number;
  /** Bound on the whole attempt, connect included, in milliseconds. */
  timeoutMs: number;
  /** Aborts the attempt (another address already answered). */
  signal?: AbortSignal;
}

/** What an HTTP attempt asks and accepts. */
export interface HttpExpectation {
  /** Request path, starting with `/`. */
  path: string;
  /** The exact status wanted; `null` accepts any status below 500. */
  expectStatus: number | null;
}

function classify(error: unknown): { kind: AttemptKind; reason: string } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return { kind: 'refused', reason: 'connection refused' };
  if (code !== undefined && UNAVAILABLE.has(code))
    return { kind: 'unavailable', reason: `address unusable (${code})` };
  const message = (error as Error | undefined)?.message ?? String(error);
  return { kind: 'error', reason: code && !message.includes(code) ? `${message} (${code})` : message };
}

/**
 * Runs `start` with a deadline and an abort signal. `start` receives `settle`
 * and returns the cleanup that destroys its socket; the first outcome wins.
 */
function attempt(
  target: AttemptTarget,
  timeoutReason: string,
  start: (settle: (kind: AttemptKind, reason: string | null) => void) => () => void,
): Promise<Attempt> {
  return new Promise((resolve) => {
    const began = performance.now();
    let done = false;
    let cleanup: () => void = () => {};
    const settle = (kind: AttemptKind, reason: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      target.signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve({ host: target.host, kind, reason, latencyMs: Math.round(performance.now() - began) });
    };
    const onAbort = () => settle('aborted', 'cancelled: another address answered');
    const timer = setTimeout(() => settle('timeout', timeoutReason), target.timeoutMs);
    if (target.signal?.aborted) {
      onAbort();
      return;
    }
    target.signal?.addEventListener('abort', onAbort, { once: true });
    cleanup = start(settle);
    // `start` may have settled synchronously before `cleanup` was known.
    if (done) cleanup();
  });
}

/**
 * Connects to `host:port`; ok as soon as the connection is established.
 *
 * @example
 * await tcpAttempt({ host: '127.0.0.1', port: 5432, timeoutMs: 1000 });
 * // { host: '127.0.0.1', kind: 'ok', reason: null, latencyMs: 1 }
 */
export function tcpAttempt(target: AttemptTarget): Promise<Attempt> {
  return attempt(target, `connect timed out after ${target.timeoutMs} ms`, (settle) => {
    const socket = connect({ host: target.host, port: target.port });
    socket.once('connect', () => settle('ok', null));
    // `on`, not `once`: a late error after settling must still find a listener.
    socket.on('error', (error) => {
      const { kind, reason } = classify(error);
      settle(kind, reason);
    });
    return () => socket.destroy();
  });
}

/**
 * Sends `GET path` to `host:port` and judges the status line; the body is not read.
 *
 * @example
 * await httpAttempt({ host: '::1', port: 3000, timeoutMs: 1000 }, { path: '/healthz', expectStatus: 200 });
 * // { host: '::1', kind: 'status', reason: 'GET /healthz answered 503 (expected 200)', latencyMs: 4 }
 */
export function httpAttempt(target: AttemptTarget, expect: HttpExpectation): Promise<Attempt> {
  const what = `GET ${expect.path}`;
  return attempt(target, `${what} timed out after ${target.timeoutMs} ms`, (settle) => {
    const req = request({
      host: target.host,
      port: target.port,
      path: expect.path,
      method: 'GET',
      agent: false,
      // Dev servers that check the Host header (Vite, webpack-dev-server) accept `localhost`.
      headers: { host: `localhost:${target.port}`, 'user-agent': 'berth-health', connection: 'close' },
    });
    req.once('response', (res) => {
      // Destroying the request after the status line may make the response emit `aborted` errors.
      res.on('error', () => {});
      res.resume();
      const status = res.statusCode ?? 0;
      const accepted = expect.expectStatus === null ? status < 500 : status === expect.expectStatus;
      if (accepted) settle('ok', null);
      else {
        const wanted = expect.expectStatus === null ? 'a status below 500' : String(expect.expectStatus);
        settle('status', `${what} answered ${status} (expected ${wanted})`);
      }
    });
    req.on('error', (error) => {
      const { kind, reason } = classify(error);
      settle(kind, kind === 'error' ? `${what} failed: ${reason}` : reason);
    });
    req.end();
    return () => req.destroy();
  });
}
