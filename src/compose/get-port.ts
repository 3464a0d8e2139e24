/**
 * `getPort()`: the drop-in for get-port users, with one difference that
 * matters: the port is leased in the shared registry for the calling process,
 * so parallel test workers never receive the same port. Leases end when the
 * process exits (or with `releasePort`), and a killed process's leases are
 * reclaimed by the next allocation that meets them.
 */

import { createKernelFacts } from '../adapters/net/kernel.js';
import { pickPort } from '../core/pick.js';
import { basePolicy } from '../core/policy.js';
import type { PortRange } from '../core/types.js';
import { BerthError } from '../errors.js';
import { type Adapters, createAdapters } from './context.js';
import { TxSnapshot } from './snapshot.js';

/** Options of {@link getPort}; the shape follows get-port's. */
export interface GetPortOptions {
  /** Preferred port or ports, tried in order. */
  port?: number | Iterable<number>;
  /** Range to choose from when the preferred ports are taken: `[min, max]` or `{ min, max }`. Without it, the default pool. */
  range?: readonly [number, number] | PortRange;
  /** Ports never to return. */
  exclude?: Iterable<number>;
  /** What `berth ls` shows as the lease's service, e.g. `berth serve`. Default `getPort`. */
  label?: string;
  /** Registry folder; default `$BERTH_HOME`, `$XDG_STATE_HOME/berth` or `~/.local/state/berth`. */
  home?: string;
}

/**
 * How old a read of the kernel's listening sockets getPort() may plan from while a
 * fresh one runs in the background, in milliseconds. A test suite calls getPort now
 * and then; waiting for a fresh read (milliseconds on a large machine) each time cost
 * 25x get-port's latency. Safe because every pick is confirmed by a bind; the price is
 * that a port freed within the window may be passed over.
 */
const GETPORT_KERNEL_STALE_MS = 5_000;

/** Attempts when a picked port turns out busy on bind (a listener the kernel table had not shown yet). */
const MAX_BIND_ATTEMPTS = 20;

/**
 * Zero-config calls lease this many pool ports per transaction and hand them out one
 * by one, each confirmed by a bind when handed out. A SQLite commit (its WAL append)
 * costs more than the bind itself; one commit per batch brought zero-config latency
 * under get-port's. The ports not yet handed out stay leased to this process until
 * it exits, so other processes never receive them.
 */
const RESERVE_BATCH = 8;

const contexts = new Map<string, Adapters>();
/** Ports leased ahead for zero-config calls, by registry home. */
const reserves = new Map<string, number[]>();
const homeKey = (home: string | undefined) => home ?? '';

function adaptersFor(home: string | undefined): Adapters {
  const key = homeKey(home);
  let adapters = contexts.get(key);
  if (!adapters) {
    const kernel = createKernelFacts({ staleMs: GETPORT_KERNEL_STALE_MS });
    adapters = createAdapters({ ...(home === undefined ? {} : { home }), adapters: { kernel } });
    contexts.set(key, adapters);
    if (contexts.size === 1) process.once('exit', releaseOwnLeases);
  }
  return adapters;
}

function releaseOwnLeases() {
  for (const { registry } of contexts.values()) {
    try {
      registry.transactionSync((tx) => {
        for (const lease of tx.leasesOwnedBy(process.pid))
          if (lease.kind === 'adhoc') tx.remove(lease.id, 'released');
      });
    } catch {
      // Exiting anyway; the next allocation reclaims leases of dead owners.
    }
  }
}

function toRange(range: GetPortOptions['range']): PortRange | null {
  if (!range) return null;
  const r = 'min' in range ? range : { min: range[0], max: range[1] };
  if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1 || r.max > 65535 || r.min > r.max) {
    throw new BerthError(
      'E_USAGE',
      `range ${r.min}-${r.max} is not a valid port range. Use integers with 1 <= min <= max <= 65535.`,
    );
  }
  return r;
}

function toPorts(value: GetPortOptions['port'] | GetPortOptions['exclude'], name: string): number[] {
  if (value === undefined) return [];
  const given: unknown = value;
  if (typeof given === 'string') {
    throw new BerthError(
      'E_USAGE',
      `${name} ${JSON.stringify(given)} is a string. Pass a number such as ${Number.parseInt(given, 10) || 3000}, or an array of numbers.`,
    );
  }
  const ports = typeof value === 'number' ? [value] : [...value];
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw new BerthError(
        'E_USAGE',
        `${name} ${String(p)} is not a TCP port. Use integers from 1 to 65535.`,
      );
    }
  }
  return ports;
}

/**
 * Leases a free port for this process.
 *
 * @example
 * const port = await getPort({ port: [3000, 3001], range: [3000, 3999], exclude: [3002] });
 * server.listen(port);
 */
export async function getPort(options: GetPortOptions = {}): Promise<number> {
  const preferred = toPorts(options.port, 'port');
  const exclude = new Set(toPorts(options.exclude, 'exclude'));
  const range = toRange(options.range);
  const adapters = adaptersFor(options.home);
  const { registry, kernel, processes, probe } = adapters;
  const owner = processes.self();
  const policy = basePolicy({ ephemeral: kernel.ephemeralRange(), excluded: kernel.excludedRanges() });
  const use = { requires: ['http'] as const, allowPrivileged: preferred.some((p) => p < 1024) };
  const busy = new Set<number>();
  // Zero-config calls draw from ports leased ahead in one transaction (see RESERVE_BATCH).
  const reserveKey =
    preferred.length === 0 && !range && exclude.size === 0 && !options.label ? homeKey(options.home) : null;
  for (let attempt = 0; attempt < MAX_BIND_ATTEMPTS; attempt++) {
    let port = reserveKey === null ? undefined : reserves.get(reserveKey)?.shift();
    if (port === undefined) {
      // Off the event loop and outside the write lock: reading /proc/net/tcp walks the
      // kernel's whole connection hash (milliseconds on a large machine).
      await kernel.refresh();
      const count = reserveKey === null ? 1 : RESERVE_BATCH;
      const ports = await registry.transaction((tx) => {
        const now = adapters.now();
        const snapshot = new TxSnapshot(tx, kernel, processes, now, busy);
        const size = policy.pool.max - policy.pool.min + 1;
        const taken = new Set(exclude);
        const leased: number[] = [];
        while (leased.length < count) {
          const pick = pickPort({
            preferred,
            range,
            exclude: taken,
            policy,
            use,
            occupancy: snapshot,
            start: Math.floor(Math.random() * size),
          });
          if (!pick) break;
          taken.add(pick.port);
          leased.push(pick.port);
        }
        snapshot.reclaim();
        for (const leasedPort of leased) {
          tx.insert({
            port: leasedPort,
            kind: 'adhoc',
            project: '',
            dir: '',
            environment: '',
            service: options.label ?? 'getPort',
            inheritsFrom: null,
            owner,
            createdAt: now,
            expiresAt: null,
            scheme: null,
          });
        }
        return leased;
      });
      if (ports.length === 0) {
        const where = range
          ? `range ${range.min}-${range.max}`
          : `the pool ${policy.pool.min}-${policy.pool.max}`;
        throw new BerthError(
          'E_NO_PORT',
          `no free port in ${where}${preferred.length ? ` (preferred ${preferred.join(', ')} taken)` : ''}. Widen the range or release ports (berth ls --all-projects).`,
          { data: { range, preferred } },
        );
      }
      port = ports.shift()!;
      if (reserveKey !== null) reserves.set(reserveKey, ports);
    }
    if ((await probe.check(port)) === 'free') return port;
    busy.add(port);
    await releaseLease(registry, port, owner.pid);
  }
  throw new BerthError(
    'E_NO_PORT',
    `ports kept turning out busy when bound (${[...busy].join(', ')}). Another program is grabbing ports; try again.`,
  );
}

async function releaseLease(registry: Adapters['registry'], port: number, pid: number): Promise<boolean> {
  return registry.transaction((tx) => {
    const lease = tx.leasesInRange(port, port).find((l) => l.kind === 'adhoc' && l.owner?.pid === pid);
    if (lease) tx.remove(lease.id, 'released');
    return lease !== undefined;
  });
}

/**
 * Releases a port this process leased with {@link getPort}. Returns false when it held no such lease.
 *
 * @example
 * const port = await getPort();
 * await releasePort(port);
 */
export async function releasePort(port: number, options: { home?: string } = {}): Promise<boolean> {
  const reserve = reserves.get(homeKey(options.home));
  if (reserve?.includes(port)) reserve.splice(reserve.indexOf(port), 1);
  return releaseLease(adaptersFor(options.home).registry, port, process.pid);
}
