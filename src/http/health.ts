/**
 * The daemon's health monitor: checks every leased service on an interval
 * (with the service's own health spec from its config), keeps the latest
 * result and a short latency history for the dashboard, and records
 * transitions to healthy or unhealthy in the registry's event log, so they
 * reach every event stream like lease changes do.
 */

import { staleness } from '../compose/lease-views.js';
import type { HealthCheckResult, ProcessTable } from '../core/facts.js';
import { leaseEvent, type NewRegistryEvent, type Registry } from '../core/registry.js';
import type { HealthSpec, HealthStatus, Lease } from '../core/types.js';
import { HEALTH_INTERVAL_MS } from '../core/types.js';
import type { ConfigCache } from './config-cache.js';

/**
 * How often the daemon checks every leased service, in milliseconds: one round
 * over all of them (README: "refreshed every 2 s"). Not a service's own
 * `health.intervalMs` (default `HEALTH_INTERVAL_MS`, src/core/types.ts),
 * which paces `berth wait`.
 */
export const HEALTH_ROUND_MS = 2_000;

/** Latencies kept per service for the dashboard's sparkline. */
export const HEALTH_HISTORY = 30;

/** Checks run at once; a machine with many leases does not open hundreds of sockets per tick. */
const CONCURRENCY = 8;

/** What a check answers. */
export type CheckResult = HealthCheckResult;

/** Runs one health check. */
export type HealthCheck = (spec: HealthSpec, port: number) => Promise<CheckResult>;

/** A service's health as the API reports it. */
export interface ServiceHealth {
  /** `not-running`: nothing listens on the port (not started), shown neutral, not as a failure. */
  status: HealthStatus;
  reason: string | null;
  latencyMs: number | null;
  /** Epoch milliseconds of the last check, `null` before the first. */
  checkedAt: number | null;
  /** Recent latencies, oldest first; `null` marks a failed check. A not-running check adds nothing. */
  history: (number | null)[];
}

/** Health check for a lease whose project config cannot be read: a connect is honest for any scheme. */
const FALLBACK_SPEC: HealthSpec = {
  type: 'tcp',
  path: '/',
  expectStatus: null,
  intervalMs: HEALTH_INTERVAL_MS,
  timeoutMs: 1_000,
};

interface Entry extends ServiceHealth {
  port: number;
}

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  registry: Registry;
  configs: ConfigCache;
  processes: ProcessTable;
  check: HealthCheck;
  now: () => number;
  intervalMs?: number;
  /** Where a failed round is reported (a locked registry, say); the next round tries again. */
  onError?: (error: unknown) => void;
}

/** Identity of a service lease across moves. */
export function leaseKey(lease: Pick<Lease, 'dir' | 'environment' | 'service'>): string {
  return `${lease.dir}\0${lease.environment}\0${lease.service}`;
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Checks leased services on an interval and remembers the results. */
export class HealthMonitor {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastTick: number | null = null;

  constructor(private readonly options: HealthMonitorOptions) {}

  /** Interval between rounds, in milliseconds. */
  get intervalMs(): number {
    return this.options.intervalMs ?? HEALTH_ROUND_MS;
  }

  /** When the last round finished (epoch ms), `null` before the first. */
  get checkedAt(): number | null {
    return this.lastTick;
  }

  /** Starts checking on the interval (first round at once). */
  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the interval. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The latest health of a lease, or `null` for leases not checked (ad-hoc ones). */
  get(lease: Lease): ServiceHealth | null {
    if (lease.kind !== 'service') return null;
    const entry = this.entries.get(leaseKey(lease));
    if (!entry || entry.port !== lease.port) return null;
    const { port: _port, ...health } = entry;
    return health;
  }

  /** One round over every service lease; rounds never overlap. Resolves when it is done. */
  tick(): Promise<void> {
    this.running ??= this.round()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async specFor(lease: Lease): Promise<HealthSpec | null | 'fallback'> {
    const config = await this.options.configs.get(lease.dir, lease.environment);
    if (config === null) return 'fallback';
    if (!config.enableHealthChecks) return null;
    return config.services.find((s) => s.name === lease.service)?.health ?? null;
  }

  private async round(): Promise<void> {
    const { registry, processes, now, check } = this.options;
    const leases = registry.allLeases().filter((l) => l.kind === 'service');
    const seen = new Set<string>();
    const sameCheck = new Map<string, Promise<CheckResult>>();
    const transitions: NewRegistryEvent[] = [];
    await mapLimited(leases, CONCURRENCY, async (lease) => {
      const key = leaseKey(lease);
      seen.add(key);
      const previous = this.entries.get(key);
      const base = previous && previous.port === lease.port ? previous : null;
      const history = base?.history ?? [];
      const stale = staleness(lease, now(), processes);
      const found = stale ? null : await this.specFor(lease);
      if (stale || found === null) {
        const reason = stale ? `lease is stale (${stale})` : 'health checks are off for this service';
        this.entries.set(key, {
          port: lease.port,
          status: 'unknown',
          reason,
          latencyMs: null,
          checkedAt: now(),
          history,
        });
        return;
      }
      const spec = found === 'fallback' ? FALLBACK_SPEC : found;
      // An inheriting service shares its root's port: one check serves both when the specs agree.
      const id = `${lease.port}\0${spec.type}\0${spec.path}\0${spec.expectStatus}`;
      let pending = sameCheck.get(id);
      if (!pending) {
        pending = check(spec, lease.port);
        sameCheck.set(id, pending);
      }
      const result = await pending;
      const latency = result.status === 'healthy' ? result.latencyMs : null;
      // A stopped service is neither fast nor failing: the sparkline gets no point for it.
      const nextHistory =
        result.status === 'not-running' ? history : [...history, latency].slice(-HEALTH_HISTORY);
      this.entries.set(key, {
        port: lease.port,
        status: result.status,
        reason: result.reason,
        latencyMs: result.latencyMs,
        checkedAt: now(),
        history: nextHistory,
      });
      // The first result is a baseline; only changes are events (a restart of the daemon adds none).
      // Coming up and failing are events; stopping (not-running) is neither, so it records none.
      if (
        base &&
        base.status !== 'unknown' &&
        base.status !== result.status &&
        result.status !== 'not-running'
      ) {
        const detail =
          result.status === 'healthy' ? `answered in ${result.latencyMs} ms` : (result.reason ?? 'unhealthy');
        transitions.push(leaseEvent(lease, result.status, now(), detail));
      }
    });
    for (const key of this.entries.keys()) if (!seen.has(key)) this.entries.delete(key);
    if (transitions.length > 0) {
      await registry.transaction(
        (tx) => {
          for (const t of transitions) tx.recordEvent(t);
        },
        { reclaim: false },
      );
    }
    this.lastTick = now();
  }
}
