/**
 * Where berth keeps things in etcd, under the registry's prefix `P`:
 *
 * - `P/h/<host>/l/<port>`: the lease owning a port (port zero-padded to 5 digits, so
 *   keys sort as ports do); `P/h/<host>/l/<port>/<service>`: a lease inheriting it.
 * - `P/h/<host>/sc/<dir>/<environment>`: the checkout's revision key. Every transaction
 *   that reads or writes a checkout's leases or remembered ports compares it, and every
 *   one that writes them writes it: one checkout's planning is serialised, other
 *   checkouts and getPort() calls never wait for it.
 * - `P/h/<host>/hist/<dir>/<environment>/<service>`: the port a service had last.
 * - `P/h/<host>/ev/<time>-<random>`: the event log, trimmed to the newest 10,000.
 * - `P/h/<host>/fence`: present while one process commits a request too large for one
 *   transaction, in parts; every other commit of the host compares it absent.
 * - `P/hosts/<host>`: where the host is reached (its advertised address).
 *
 * Names are URI-encoded, so a folder's slashes never split a key. One host's keys
 * share one prefix: one range read loads them and one watch follows them, in order.
 */

/** Digits of a port in a key. */
const PORT_DIGITS = 5;

/** Digits of an event's time (epoch ms) in its key. */
const TIME_DIGITS = 15;

const enc = encodeURIComponent;

/** The keys of one registry prefix and host. */
export class KeySpace {
  /** Prefix of every key of this host. */
  readonly hostPrefix: string;
  readonly leasePrefix: string;
  readonly scopePrefix: string;
  readonly historyPrefix: string;
  readonly eventPrefix: string;
  /** The host's fence (see the module comment). */
  readonly fence: string;
  readonly hostsPrefix: string;
  readonly hostRecord: string;

  constructor(
    readonly prefix: string,
    readonly host: string,
  ) {
    this.hostPrefix = `${prefix}/h/${enc(host)}/`;
    this.leasePrefix = `${this.hostPrefix}l/`;
    this.scopePrefix = `${this.hostPrefix}sc/`;
    this.historyPrefix = `${this.hostPrefix}hist/`;
    this.eventPrefix = `${this.hostPrefix}ev/`;
    this.fence = `${this.hostPrefix}fence`;
    this.hostsPrefix = `${prefix}/hosts/`;
    this.hostRecord = `${this.hostsPrefix}${enc(host)}`;
  }

  /** The key of a lease: the port's for an owning lease, below it for an inheriting one. */
  lease(port: number, inheritor: string | null): string {
    const base = `${this.leasePrefix}${String(port).padStart(PORT_DIGITS, '0')}`;
    return inheritor === null ? base : `${base}/${enc(inheritor)}`;
  }

  history(dir: string, environment: string, service: string): string {
    return `${this.historyPrefix}${enc(dir)}/${enc(environment)}/${enc(service)}`;
  }

  /** The revision key of one checkout and environment. */
  scope(dir: string, environment: string): string {
    return `${this.scopePrefix}${enc(dir)}/${enc(environment)}`;
  }

  /** An event's key: its time first (keys sort by age; trimming deletes a range), then a unique tail. */
  event(at: number, unique: string): string {
    return `${this.eventPrefix}${String(Math.max(0, Math.floor(at))).padStart(TIME_DIGITS, '0')}-${unique}`;
  }

  /** The lease prefix of another host (cross-host reads). */
  leasePrefixOf(host: string): string {
    return `${this.prefix}/h/${enc(host)}/l/`;
  }

  /** The host named by a key under {@link hostsPrefix}. */
  hostOf(key: string): string | null {
    if (!key.startsWith(this.hostsPrefix)) return null;
    try {
      return decodeURIComponent(key.slice(this.hostsPrefix.length));
    } catch {
      return null;
    }
  }

  /** Parsed history key: `[dir, environment, service]`, or `null`. */
  parseHistory(key: string): [string, string, string] | null {
    const parts = key.slice(this.historyPrefix.length).split('/');
    if (parts.length !== 3) return null;
    try {
      return parts.map(decodeURIComponent) as [string, string, string];
    } catch {
      return null;
    }
  }
}

/** The end of a prefix range: the prefix with its last byte raised by one. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}
