/**
 * The local mirror of one host's keys in etcd: loaded when the registry opens, kept
 * current by a watch, and indexed so that the Registry interface's synchronous reads
 * cost what SQLite's indexed queries cost. Values read back are validated like SQLite
 * rows (src/adapters/registry/rows.ts): a malformed one is skipped, never trusted.
 *
 * A transaction writes into the mirror too, keeping an undo journal, and undoes its
 * writes before its commit is sent: the mirror itself only ever holds what etcd holds.
 */
import type { OwnerRow, RegistryEvent, Scope } from '../../../core/registry.js';
import type { Lease } from '../../../core/types.js';
import { type EventRow, type LeaseRow, rowToEvent, rowToLease } from '../rows.js';
import type { KeySpace } from './keys.js';

/**
 * Event ids are `modRevision * EVENT_ID_SCALE + index`: revision-based, so they grow
 * across every process of the host and survive a restart of any of them, and several
 * events of one transaction (one revision) still get ids of their own.
 */
export const EVENT_ID_SCALE = 4096;

/**
 * One stored value, decoded. `mod` is the key's mod revision (0 while only written by an
 * open transaction); `token` names the commit that wrote it (a resent commit tells by it
 * whether an earlier send applied).
 */
export type Item = { mod: number; token?: string } & (
  | {
      t: 'lease';
      lease: Lease;
      attached: boolean;
      /** The key's create revision (0 while pending) and its place in its commit: the order of insertion. */
      created: number;
      ord: number;
    }
  | {
      t: 'hist';
      dir: string;
      environment: string;
      service: string;
      project: string;
      port: number;
      updatedAt: number;
    }
  | { t: 'ev'; event: Omit<RegistryEvent, 'id'>; index: number }
  | { t: 'scope' }
  /** The host's fence: the process committing a large request in parts (keys.ts). */
  | { t: 'fence'; pid: number; startTime: string | null; value: string }
);

/** The raw facts of a stored key that decoding needs. */
export interface RawKv {
  key: string;
  value: string;
  mod: number;
  created: number;
  /** The etcd lease id it is attached to ('0': none). */
  lease: string;
}

const BLOCK_BITS = 8;

const isInt = (v: unknown): v is number => Number.isInteger(v);

/** Decodes a stored value by its key; `null` for a malformed value or a key berth does not know. */
export function decodeItem(keys: KeySpace, kv: RawKv): Item | null {
  const { key, mod } = kv;
  let json: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(kv.value);
    if (parsed === null || typeof parsed !== 'object') return null;
    json = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const token = typeof json.t === 'string' ? { token: json.t } : {};
  if (key.startsWith(keys.scopePrefix)) return { t: 'scope', mod, ...token };
  if (key === keys.fence) {
    if (!isInt(json.pid)) return null;
    const startTime = typeof json.start === 'string' ? json.start : null;
    return { t: 'fence', pid: json.pid, startTime, value: kv.value, mod, ...token };
  }
  if (key.startsWith(keys.leasePrefix)) {
    const parsed = rowToLease(json as unknown as LeaseRow);
    if (!parsed || key !== keys.lease(parsed.port, parsed.inheritsFrom === null ? null : parsed.service))
      return null;
    return {
      t: 'lease',
      lease: parsed,
      mod,
      attached: kv.lease !== '0' && kv.lease !== '',
      created: kv.created,
      ord: isInt(json.ord) ? json.ord : 0,
      ...token,
    };
  }
  if (key.startsWith(keys.historyPrefix)) {
    const names = keys.parseHistory(key);
    if (!names || typeof json.project !== 'string' || !isInt(json.port) || !isInt(json.updated_at))
      return null;
    const [dir, environment, service] = names;
    return {
      t: 'hist',
      dir,
      environment,
      service,
      project: json.project,
      port: json.port,
      updatedAt: json.updated_at,
      mod,
      ...token,
    };
  }
  if (key.startsWith(keys.eventPrefix)) {
    if (!isInt(json.i) || json.i < 0 || json.i >= EVENT_ID_SCALE) return null;
    const event = rowToEvent({ ...(json as unknown as EventRow), id: 0 });
    if (!event) return null;
    const { id: _id, ...rest } = event;
    return { t: 'ev', event: rest, index: json.i, mod, ...token };
  }
  return null;
}

/** The stored form of an item (the row shapes of the SQLite tables, so one validator reads both). */
export function encodeItem(item: Item, token: string): string {
  switch (item.t) {
    case 'scope':
      return JSON.stringify({ t: token });
    case 'fence':
      return item.value;
    case 'lease': {
      const l = item.lease;
      return JSON.stringify({
        t: token,
        ord: item.ord,
        id: l.id,
        port: l.port,
        kind: l.kind,
        project: l.project,
        dir: l.dir,
        environment: l.environment,
        service: l.service,
        inherits_from: l.inheritsFrom,
        pid: l.owner?.pid ?? null,
        pid_start: l.owner?.startTime ?? null,
        created_at: l.createdAt,
        expires_at: l.expiresAt,
        scheme: l.scheme,
      } satisfies LeaseRow & { t: string; ord: number });
    }
    case 'hist':
      return JSON.stringify({ t: token, project: item.project, port: item.port, updated_at: item.updatedAt });
    case 'ev': {
      const e = item.event;
      return JSON.stringify({
        t: token,
        at: e.at,
        type: e.type,
        project: e.project,
        dir: e.dir,
        environment: e.environment,
        service: e.service,
        port: e.port,
        from_port: e.fromPort,
        detail: e.detail,
        i: item.index,
      });
    }
  }
}

const scopeKey = (dir: string, environment: string) => `${dir}\0${environment}`;

/** One host's keys, indexed. */
export class Mirror {
  private readonly items = new Map<string, Item>();
  private readonly byId = new Map<number, string>();
  /** Keys of leases by port (owning and inheriting). */
  private readonly byPort = new Map<number, Set<string>>();
  /** Ports with an owning lease, per 256-port block. */
  private readonly rootBlocks = new Map<number, Set<number>>();
  /** Keys of service leases by checkout and environment. */
  private readonly byScope = new Map<string, Set<string>>();
  private readonly historyByScope = new Map<string, Map<string, string>>();
  private readonly eventKeys = new Set<string>();
  private sortedEvents: RegistryEvent[] | null = [];
  /** Newest revision applied (from the load or the watch). */
  revision = 0;

  constructor(readonly keys: KeySpace) {}

  get(key: string): Item | undefined {
    return this.items.get(key);
  }

  /** Sets (or with `null` deletes) a key; returns what it held, for an undo journal. */
  set(key: string, item: Item | null): Item | undefined {
    const prev = this.items.get(key);
    if (prev) this.unindex(key, prev);
    if (item) {
      this.items.set(key, item);
      this.index(key, item);
    } else {
      this.items.delete(key);
    }
    return prev;
  }

  /** Forgets everything (before a full reload). */
  clear(): void {
    for (const key of [...this.items.keys()]) this.set(key, null);
  }

  private index(key: string, item: Item): void {
    if (item.t === 'lease') {
      const l = item.lease;
      this.byId.set(l.id, key);
      let keys = this.byPort.get(l.port);
      if (!keys) {
        keys = new Set();
        this.byPort.set(l.port, keys);
      }
      keys.add(key);
      if (l.inheritsFrom === null) {
        const block = l.port >> BLOCK_BITS;
        let ports = this.rootBlocks.get(block);
        if (!ports) {
          ports = new Set();
          this.rootBlocks.set(block, ports);
        }
        ports.add(l.port);
      }
      if (l.kind === 'service') {
        const s = scopeKey(l.dir, l.environment);
        let set = this.byScope.get(s);
        if (!set) {
          set = new Set();
          this.byScope.set(s, set);
        }
        set.add(key);
      }
    } else if (item.t === 'hist') {
      const s = scopeKey(item.dir, item.environment);
      let map = this.historyByScope.get(s);
      if (!map) {
        map = new Map();
        this.historyByScope.set(s, map);
      }
      map.set(item.service, key);
    } else if (item.t === 'ev') {
      this.eventKeys.add(key);
      this.sortedEvents = null;
    }
  }

  private unindex(key: string, item: Item): void {
    if (item.t === 'lease') {
      const l = item.lease;
      if (this.byId.get(l.id) === key) this.byId.delete(l.id);
      const keys = this.byPort.get(l.port);
      keys?.delete(key);
      if (keys?.size === 0) this.byPort.delete(l.port);
      if (l.inheritsFrom === null) this.rootBlocks.get(l.port >> BLOCK_BITS)?.delete(l.port);
      if (l.kind === 'service') this.byScope.get(scopeKey(l.dir, l.environment))?.delete(key);
    } else if (item.t === 'hist') {
      this.historyByScope.get(scopeKey(item.dir, item.environment))?.delete(item.service);
    } else if (item.t === 'ev') {
      this.eventKeys.delete(key);
      this.sortedEvents = null;
    }
  }

  private leaseAt(key: string): Lease | null {
    const item = this.items.get(key);
    return item?.t === 'lease' ? item.lease : null;
  }

  private leasesOf(keys: Iterable<string>): Lease[] {
    const out: Lease[] = [];
    for (const key of keys) {
      const lease = this.leaseAt(key);
      if (lease) out.push(lease);
    }
    return out;
  }

  /** Every lease item with its key. */
  *leaseItems(): Iterable<[string, Extract<Item, { t: 'lease' }>]> {
    for (const key of this.byId.values()) {
      const item = this.items.get(key);
      if (item?.t === 'lease') yield [key, item];
    }
  }

  // The reads of RegistryReader, with SQLite's orders.

  /** A checkout's leases in the order they were made (their key's create revision, then their place in its commit). */
  scopeLeases(scope: Scope): Lease[] {
    const keys = this.byScope.get(scopeKey(scope.dir, scope.environment));
    if (!keys) return [];
    const items: Extract<Item, { t: 'lease' }>[] = [];
    for (const key of keys) {
      const item = this.items.get(key);
      if (item?.t === 'lease') items.push(item);
    }
    const made = (i: Extract<Item, { t: 'lease' }>) =>
      i.created === 0 ? Number.MAX_SAFE_INTEGER : i.created;
    return items.sort((a, b) => made(a) - made(b) || a.ord - b.ord).map((i) => i.lease);
  }

  leasedPorts(min: number, max: number): number[] {
    const out: number[] = [];
    for (let block = min >> BLOCK_BITS; block <= max >> BLOCK_BITS; block++) {
      for (const port of this.rootBlocks.get(block) ?? []) if (port >= min && port <= max) out.push(port);
    }
    return out.sort((a, b) => a - b);
  }

  leasesInRange(min: number, max: number): Lease[] {
    const out: Lease[] = [];
    if (max - min > this.byPort.size) {
      for (const [port, keys] of this.byPort)
        if (port >= min && port <= max) out.push(...this.leasesOf(keys));
    } else {
      for (let port = min; port <= max; port++) {
        const keys = this.byPort.get(port);
        if (keys) out.push(...this.leasesOf(keys));
      }
    }
    return out.sort((a, b) => a.port - b.port || a.id - b.id);
  }

  lease(id: number): Lease | null {
    const key = this.byId.get(id);
    return key === undefined ? null : this.leaseAt(key);
  }

  owners(): OwnerRow[] {
    const owners = new Map<string, OwnerRow>();
    for (const [, { lease }] of this.leaseItems()) {
      if (!lease.owner) continue;
      const key = `${lease.owner.pid}:${lease.owner.startTime ?? ''}`;
      const known = owners.get(key);
      if (!known) owners.set(key, { ...lease.owner, since: lease.createdAt });
      else known.since = Math.min(known.since, lease.createdAt);
    }
    return [...owners.values()];
  }

  leasesOwnedBy(pid: number): Lease[] {
    const out: Lease[] = [];
    for (const [, { lease }] of this.leaseItems()) if (lease.owner?.pid === pid) out.push(lease);
    return out.sort((a, b) => a.id - b.id);
  }

  allLeases(): Lease[] {
    const out = [...this.leaseItems()].map(([, item]) => item.lease);
    const text = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return out.sort(
      (a, b) =>
        text(a.project, b.project) ||
        text(a.dir, b.dir) ||
        text(a.environment, b.environment) ||
        a.port - b.port ||
        text(a.service, b.service),
    );
  }

  expired(now: number): Lease[] {
    const out: Lease[] = [];
    for (const [, { lease }] of this.leaseItems()) {
      if (lease.expiresAt !== null && lease.expiresAt <= now) out.push(lease);
    }
    return out.sort((a, b) => a.id - b.id);
  }

  history(scope: Scope): Map<string, number> {
    const out = new Map<string, number>();
    for (const [service, key] of this.historyByScope.get(scopeKey(scope.dir, scope.environment)) ?? []) {
      const item = this.items.get(key);
      if (item?.t === 'hist') out.set(service, item.port);
    }
    return out;
  }

  private events(): RegistryEvent[] {
    if (this.sortedEvents) return this.sortedEvents;
    const out: RegistryEvent[] = [];
    for (const key of this.eventKeys) {
      const item = this.items.get(key);
      // Events of an open transaction have no revision yet, so no id: they show once committed.
      if (item?.t === 'ev' && item.mod > 0)
        out.push({ id: item.mod * EVENT_ID_SCALE + item.index, ...item.event });
    }
    this.sortedEvents = out.sort((a, b) => a.id - b.id);
    return this.sortedEvents;
  }

  eventsSince(afterId: number, limit: number): RegistryEvent[] {
    const events = this.events();
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (events[mid]!.id <= afterId) lo = mid + 1;
      else hi = mid;
    }
    return events.slice(lo, lo + limit);
  }

  lastEventId(): number {
    return this.events().at(-1)?.id ?? 0;
  }

  /** Keys of the event log, oldest first (for trimming). */
  eventKeyList(): string[] {
    return [...this.eventKeys].sort();
  }
}
