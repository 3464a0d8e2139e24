/**
 * Where berth keeps things in etcd, under the registry's prefix `P`:
 *
 * - `P/h/<host>/rev`: the host's revision key. Every transaction that writes the host's
 *   keys writes it too, so comparing its mod revision checks everything the transaction
 *   read of the host (a key created meanwhile included). Its value counts the ids
 *   handed out (`seq`) and names the commit that wrote it (`txn`).
 * - `P/h/<host>/l/<port>`: the lease owning a port (port zero-padded to 5 digits, so
 *   keys sort as ports do); `P/h/<host>/l/<port>/<service>`: a lease inheriting it.
 * - `P/h/<host>/hist/<dir>/<environment>/<service>`: the port a service had last.
 * - `P/h/<host>/ev/<seq>`: the event log, trimmed to the newest entries.
 * - `P/hosts/<host>`: where the host is reached (its advertised address).
 *
 * Names are URI-encoded, so a folder's slashes never split a key. One host's keys
 * share one prefix: one range read loads them and one watch follows them, in order.
 */

/** Digits of a port in a key. */
const PORT_DIGITS = 5;

/** Digits of an event sequence number in a key. */
const SEQ_DIGITS = 15;

const enc = encodeURIComponent;

/** The keys of one registry prefix and host. */
export class KeySpace {
  /** Prefix of every key of this host. */
  readonly hostPrefix: string;
  readonly rev: string;
  readonly leasePrefix: string;
  readonly historyPrefix: string;
  readonly eventPrefix: string;
  readonly hostsPrefix: string;
  readonly hostRecord: string;

  constructor(
    readonly prefix: string,
    readonly host: string,
  ) {
    this.hostPrefix = `${prefix}/h/${enc(host)}/`;
    this.rev = `${this.hostPrefix}rev`;
    this.leasePrefix = `${this.hostPrefix}l/`;
    this.historyPrefix = `${this.hostPrefix}hist/`;
    this.eventPrefix = `${this.hostPrefix}ev/`;
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

  event(seq: number): string {
    return `${this.eventPrefix}${String(seq).padStart(SEQ_DIGITS, '0')}`;
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
