/**
 * The registry as the core sees it: a narrow interface the SQLite adapter
 * (src/adapters/registry/sqlite.ts) implements. The core never imports the adapter.
 */
import type { HostDirectory } from './hosts.js';
import type { Lease, LeaseOwner } from './types.js';

/** A lease to insert: the registry assigns `id`. */
export type NewLease = Omit<Lease, 'id'>;

/** What happened to a lease; the daemon streams these as server-sent events. */
export type RegistryEventType = 'assigned' | 'moved' | 'released' | 'reclaimed' | 'healthy' | 'unhealthy';

/** One row of the event log. `id` grows monotonically across every process. */
export interface RegistryEvent {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  type: RegistryEventType;
  project: string;
  dir: string;
  environment: string;
  service: string;
  port: number;
  /** For `moved`: the port the lease left. */
  fromPort: number | null;
  /** Free text: why (shown on the dashboard). */
  detail: string;
}

/** An event to append. */
export type NewRegistryEvent = Omit<RegistryEvent, 'id'>;

/**
 * The event for something that happened to a lease.
 *
 * @example
 * tx.recordEvent(leaseEvent(lease, 'released', now, 'released'));
 */
export function leaseEvent(
  lease: Pick<Lease, 'project' | 'dir' | 'environment' | 'service' | 'port'>,
  type: RegistryEventType,
  at: number,
  detail: string,
  fromPort: number | null = null,
): NewRegistryEvent {
  const { project, dir, environment, service, port } = lease;
  return { at, type, project, dir, environment, service, port, fromPort, detail };
}

/** An owner process of leases, and since when (epoch ms) it holds any. */
export interface OwnerRow extends LeaseOwner {
  since: number;
}

/** Identifies one project checkout in one environment. */
export interface Scope {
  dir: string;
  environment: string;
}

/** Why a lease left the table; both leave a history row so the port is sticky. */
export type RemovalReason = 'released' | 'reclaimed';

/** Reads that need no lock (WAL snapshot reads). */
export interface RegistryReader {
  /** Service leases of one checkout and environment. */
  scopeLeases(scope: Scope): Lease[];
  /**
   * Ports in [min, max] owned by a lease (inheriting rows excluded), ascending. Reads
   * only the index: far cheaper than {@link leasesInRange} when most ports are free.
   */
  leasedPorts(min: number, max: number): number[];
  /** Every lease whose port lies in [min, max], ordered by port (indexed query). */
  leasesInRange(min: number, max: number): Lease[];
  /** The lease with this id, or `null`. */
  lease(id: number): Lease | null;
  /** Every distinct owner process of a lease (one row per berth process holding leases), with when it got its first. */
  owners(): OwnerRow[];
  /** Leases owned by process `pid` (any start time). Scans the table: for rare, whole-process questions. */
  leasesOwnedBy(pid: number): Lease[];
  /** Every lease of every project, ordered by project, dir, environment, port. */
  allLeases(): Lease[];
  /** Last port each service of the scope had (from released and current leases): the sticky source. */
  history(scope: Scope): Map<string, number>;
  /** Events with id greater than `afterId`, oldest first, at most `limit`. */
  eventsSince(afterId: number, limit: number): RegistryEvent[];
  /** The newest event id, 0 when there is none. */
  lastEventId(): number;
}

/** Reads and writes inside one `BEGIN IMMEDIATE` transaction. */
export interface RegistryTx extends RegistryReader {
  /**
   * Which batch this transaction belongs to (group commit: requests of one batch share
   * it). Changes from batch to batch, so requests can share work done earlier in theirs.
   */
  readonly batch: number;
  /** Inserts a lease; a UNIQUE violation (port or scope+service) throws `E_PORT_HELD`. */
  insert(lease: NewLease): Lease;
  /** Re-points a lease at a new owner (e.g. `berth run` ties it to the child). */
  setOwner(id: number, owner: LeaseOwner | null, expiresAt: number | null): void;
  /** Removes a lease, writing its port to history. */
  remove(id: number, reason: RemovalReason): void;
  /** Removes every lease of `owner`, writing history; returns them. */
  removeOwnedBy(owner: LeaseOwner, reason: RemovalReason): Lease[];
  /**
   * Deletes the scope's history rows (the sticky ports of its services): for scopes
   * that never come back, such as one test run's (src/core/test-run.ts).
   */
  forgetHistory(scope: Scope): void;
  /** Leases whose expiry is at or before `now`. */
  expired(now: number): Lease[];
  /** Appends to the event log (trimmed to the newest rows by the adapter). */
  recordEvent(event: NewRegistryEvent): void;
  /**
   * Whether the transaction is near its size bound, for work that may stop early and
   * continue in the next transaction (the reclaim of dead owners' leases, a getPort
   * reserve). A registry whose transactions are bounded (etcd commits at most 128
   * operations) says so; the batch hook that stops here is run again, in a commit of its
   * own, until it is done. Absent: no bound (SQLite).
   */
  full?(): boolean;
}

/** Options of {@link Registry.transaction}. */
export interface TransactionOptions<T = never> {
  /**
   * Whether the batch must first reclaim stale leases (dead owners, expired), as
   * every allocation must; default true. Transactions that only give leases back
   * or record events pass false, so a batch of releases skips the sweep.
   */
  reclaim?: boolean;
  /**
   * An answer that needs no write, asked each time the process wakes while it waits
   * for the lock behind other processes (`undefined`: none yet). Once every request
   * the process has waiting has one, they leave the queue and resolve with it
   * instead of running (`undefined` is never an answer). A registry without a lock queue
   * (etcd) never asks. `TransactionOptions` without a type argument has no use for it,
   * so options typed that way still fit every transaction.
   */
  instead?: () => T | undefined;
}

/** Options of {@link Registry.transactionSync}. */
export interface SyncTransactionOptions {
  /** Give up (throw `E_REGISTRY_LOCKED`) when the lock is not free within this many ms; default the lock timeout. */
  timeoutMs?: number;
}

/** The registry every berth process of the user shares. */
export interface Registry extends RegistryReader {
  /**
   * Runs `fn` inside a write transaction. Concurrent calls of one process share
   * transactions (group commit): the calls waiting when the process gets the
   * write lock run together, each isolated so that one that throws fails
   * alone. Processes wait for the lock in turn without blocking their event
   * loop; `E_REGISTRY_LOCKED` only when the registry makes no progress for the
   * lock timeout (one holder keeps it locked), naming that holder. `fn` is
   * synchronous: no awaiting inside a transaction.
   */
  transaction<T>(fn: (tx: RegistryTx) => T, options?: TransactionOptions<NoInfer<T>>): Promise<T>;
  /**
   * Runs `fn` as {@link transaction} would, now and synchronously, when that needs no
   * wait: nothing of this process's is queued for a transaction, no other process
   * queues for the lock, and the lock is free. Returns `{ value }`, or `undefined` when
   * it could not (use `transaction` then); throws what `fn` or the commit threw. Absent
   * for a registry without such a path (etcd).
   */
  transactionNow?<T>(
    fn: (tx: RegistryTx) => T,
    options?: Pick<TransactionOptions, 'reclaim'>,
  ): { value: T } | undefined;
  /** Synchronous variant for process-exit handlers: blocks, polling, up to `timeoutMs`. */
  transactionSync<T>(fn: (tx: RegistryTx) => T, options?: SyncTransactionOptions): T;
  /** Absolute path of the database file. */
  readonly path: string;
  /**
   * Resolves once synchronous reads can be answered. A registry kept elsewhere (etcd)
   * loads a local mirror first; its transactions wait for it themselves. Absent when
   * the registry is ready as soon as it is opened (SQLite).
   */
  ready?(): Promise<void>;
  /** Reads across hosts, for a registry several hosts share (etcd); absent for a single host's registry. */
  readonly directory?: HostDirectory | undefined;
  close(): void;
}
