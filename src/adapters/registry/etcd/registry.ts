/**
 * The registry on etcd, for teams: the same guarantees as the SQLite registry across
 * a team's hosts and CI fleet. docs/design/etcd-registry.md explains the design:
 *
 * - a mirror of this host's keys, loaded at open and kept current by a watch (which
 *   resumes across member restarts), answers the synchronous reads;
 * - a batch of requests (group commit) runs its synchronous functions against the
 *   mirror, then commits their net writes in ONE etcd transaction that compares every
 *   key it changes and the revision key of every checkout it read, retried on conflict;
 * - leases with an owner are attached to this process's etcd lease (TTL 15 s), so a
 *   dead process's or a vanished host's ports come back; on the host itself the
 *   reclaimer takes a dead owner's leases back at once.
 */
import { randomBytes } from 'node:crypto';
import type { HostDirectory } from '../../../core/hosts.js';
import type {
  OwnerRow,
  Registry,
  RegistryEvent,
  RegistryTx,
  Scope,
  SyncTransactionOptions,
  TransactionOptions,
} from '../../../core/registry.js';
import type { Lease, LeaseOwner } from '../../../core/types.js';
import { BerthError } from '../../../errors.js';
import { type BatchBackend, GroupCommit, type JobOutcome } from '../group-commit.js';
import { buildCommit, MAX_TXN_OPS, type ScopeCheck } from './commit.js';
import { createDirectory } from './directory.js';
import { HostFence } from './fence.js';
import { Follower } from './follow.js';
import { KeySpace, prefixEnd } from './keys.js';
import { Mirror } from './mirror.js';
import { type Seen, sendCommit } from './send.js';
import { EtcdSession } from './session.js';
import { BatchWriter, type Change } from './tx.js';

/**
 * Conflicts one batch may meet in a row before `E_REGISTRY`, and for how long (ms). Each
 * conflict means another process of the host committed meanwhile: the registry made
 * progress, so a batch keeps trying while others win (as a SQLite waiter behind
 * committing processes never times out); the bounds only stop one unlucky process from
 * trying forever.
 */
export const MAX_CONFLICTS = 500;
export const CONFLICT_WINDOW_MS = 30_000;

/** Longest pause after a conflict, in ms: losers of one round spread out instead of colliding again. */
const CONFLICT_BACKOFF_MAX_MS = 50;

/** Events kept per host; older ones are trimmed (the dashboard needs recent history only; as SQLite's EVENTS_KEPT). */
export const EVENTS_KEPT = 10_000;

/** Trim the event log at most this often per process, in milliseconds. */
const TRIM_EVERY_MS = 60_000;

/**
 * Compares plus operations the batch hook (the reclaim of dead owners' leases) may fill
 * before it stops and its work is committed alone: half a commit, so that the requests
 * of the batch still fit beside a hook that had something to do.
 */
export const HOOK_OPS = MAX_TXN_OPS / 2;

/** One run of a batch against the mirror. */
interface Attempt {
  /** Outcomes of the requests it ran, in order (the rest go to the next batch). */
  outcomes: JobOutcome[];
  changes: Change[];
  /** Revision keys of the checkouts it read, with the mod revision read, and whether it wrote them. */
  scopes: Map<string, ScopeCheck>;
  /** The hook stopped at {@link HOOK_OPS} (or its work and the first request's did not fit together): its work alone. */
  hookOnly: boolean;
  /** Compares plus operations of its commit, at most. */
  cost: number;
}

/** Options of {@link openEtcdRegistry}. */
export interface EtcdRegistryOptions {
  url: string;
  endpoints: readonly string[];
  /** Key prefix, without a trailing slash. */
  prefix: string;
  /** This host's name (`BERTH_HOST` or the hostname). */
  host: string;
  /** Where other hosts reach this host (`BERTH_ADVERTISE` or the first non-loopback address). */
  address: string | null;
  now?: () => number;
  /** Runs at the start of every batch, inside it (the composition reclaims dead owners' leases here). */
  beforeBatch?: (tx: RegistryTx) => void;
  /** Attach this process's own leases to its etcd lease (default true; `berth registry copy` turns it off). */
  attachOwned?: boolean;
  /** This process (default: its pid): the leases it owns are attached to its etcd lease, nobody else's. */
  self?: LeaseOwner;
  /** Whether a process of this host lives (default `kill(pid, 0)`): a dead holder's fence is lifted. */
  isAlive?: (owner: LeaseOwner) => boolean;
  /** Bound of every etcd operation, in milliseconds (default 5 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Informational lines (a lost etcd lease). */
  log?: (line: string) => void;
}

/**
 * Opens the registry at `url`: connects, loads this host's keys and starts following them.
 * Throws `E_REGISTRY` naming the endpoints when etcd cannot be reached within the timeout.
 *
 * @example
 * const registry = await openEtcdRegistry({ url, endpoints: ['127.0.0.1:2379'], prefix: 'berth', host: 'ci-7', address: null });
 */
export async function openEtcdRegistry(options: EtcdRegistryOptions): Promise<EtcdRegistry> {
  const registry = new EtcdRegistry(
    await EtcdSession.open({
      endpoints: options.endpoints,
      url: options.url,
      ...(options.env ? { env: options.env } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      onLeaseLost: (error) =>
        options.log?.(
          `berth: the etcd lease of this process was lost (${(error as Error)?.message ?? error}); leases it held on etcd may be gone`,
        ),
    }),
    options,
  );
  try {
    await registry.load();
  } catch (error) {
    registry.close();
    throw error;
  }
  return registry;
}

/** One request's result, settled when its batch commits. */
interface Deferred {
  promise: Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: (value: unknown) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Settled for callers who already gave up (the job's own promise carries it on).
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** The registry on etcd. */
export class EtcdRegistry implements Registry {
  readonly path: string;
  readonly keys: KeySpace;
  readonly directory: HostDirectory;
  private readonly mirror: Mirror;
  private readonly now: () => number;
  private readonly batches: GroupCommit<RegistryTx>;
  private batch = 0;
  /** The batch being committed; the next waits for it (its snapshot must include it). */
  private inflight: Promise<void> = Promise.resolve();
  /** Keeps the mirror current (load, watch, waiting for it). */
  private readonly follower: Follower;
  /** When this process last trimmed the event log (epoch ms). */
  private trimmedAt = 0;
  private hostRecorded = false;
  private closed = false;
  private readonly self: LeaseOwner;
  /** Commits of requests too large for one transaction (fence.ts). */
  private readonly fence: HostFence;

  constructor(
    private readonly session: EtcdSession,
    private readonly options: EtcdRegistryOptions,
  ) {
    this.path = options.url;
    this.keys = new KeySpace(options.prefix, options.host);
    this.mirror = new Mirror(this.keys);
    this.now = options.now ?? Date.now;
    this.self = options.self ?? { pid: process.pid, startTime: null };
    const backend: BatchBackend<RegistryTx> = {
      acquire: () => this.acquire(),
      run: (fns, more, hook) => this.runBatch(fns, more, hook),
    };
    this.batches = new GroupCommit(backend);
    this.directory = createDirectory(session, this.keys);
    this.follower = new Follower(session, this.keys, this.mirror, this.now, {
      busy: () => this.batches.waiting > 0,
      settled: () => this.inflight,
    });
    this.fence = new HostFence({
      session,
      keys: this.keys,
      mirror: this.mirror,
      follower: this.follower,
      url: this.path,
      self: this.self,
      isAlive: options.isAlive ?? pidAlive,
      token: newToken,
      now: this.now,
    });
  }

  // Reads: from the mirror.

  scopeLeases(scope: Scope): Lease[] {
    this.follower.touch();
    return this.mirror.scopeLeases(scope);
  }

  leasedPorts(min: number, max: number): number[] {
    this.follower.touch();
    return this.mirror.leasedPorts(min, max);
  }

  leasesInRange(min: number, max: number): Lease[] {
    this.follower.touch();
    return this.mirror.leasesInRange(min, max);
  }

  lease(id: number): Lease | null {
    this.follower.touch();
    return this.mirror.lease(id);
  }

  owners(): OwnerRow[] {
    this.follower.touch();
    return this.mirror.owners();
  }

  leasesOwnedBy(pid: number): Lease[] {
    this.follower.touch();
    return this.mirror.leasesOwnedBy(pid);
  }

  allLeases(): Lease[] {
    this.follower.touch();
    return this.mirror.allLeases();
  }

  history(scope: Scope): Map<string, number> {
    this.follower.touch();
    return this.mirror.history(scope);
  }

  eventsSince(afterId: number, limit: number): RegistryEvent[] {
    this.follower.touch();
    return this.mirror.eventsSince(afterId, limit);
  }

  lastEventId(): number {
    this.follower.touch();
    return this.mirror.lastEventId();
  }

  /** Always ready: {@link openEtcdRegistry} resolves once the mirror is loaded. */
  async ready(): Promise<void> {}

  transaction<T>(fn: (tx: RegistryTx) => T, options?: TransactionOptions<NoInfer<T>>): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.path));
    this.follower.touch();
    return this.batches.submit(fn, options?.reclaim !== false);
  }

  transactionSync<T>(_fn: (tx: RegistryTx) => T, _options?: SyncTransactionOptions): T {
    // Exit handlers call this; they give up quietly, and the host's next allocation reclaims the leases.
    throw new BerthError(
      'E_REGISTRY',
      `the etcd registry ${this.path} cannot commit synchronously. Use transaction(); leases of an exited process are reclaimed by the next allocation on its host, or when its etcd lease expires.`,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Let a commit in flight finish before the client goes.
    this.follower.close(this.inflight);
    void this.inflight.finally(() => this.session.close());
  }

  /** Loads this host's keys afresh (at open; after the watch was idle or too slow). */
  load(): Promise<void> {
    return this.follower.load();
  }

  // Batches.

  private async acquire(): Promise<() => void> {
    await this.inflight;
    if (this.closed) throw closedError(this.path);
    // The watch was idle: the mirror may have missed changes.
    await this.follower.fresh();
    // Another process commits a large request in parts: its transactions, read-only ones too, go first.
    await this.fence.clear(Date.now() + CONFLICT_WINDOW_MS);
    return () => {};
  }

  /** Whether a lease of `owner` goes with this process's etcd lease: its own leases only. */
  private attachable(owner: LeaseOwner): boolean {
    const { self } = this;
    return (
      this.options.attachOwned !== false &&
      owner.pid === self.pid &&
      (self.startTime === null || owner.startTime === self.startTime)
    );
  }

  /**
   * Runs a batch against the mirror. Read-only batches are answered at once; a batch
   * that writes answers each request when its commit lands (or fails).
   */
  private runBatch(
    fns: readonly ((tx: RegistryTx) => unknown)[],
    more: () => boolean,
    hook: boolean,
  ): JobOutcome[] {
    const attempt = this.attempt(fns, more, hook);
    if (attempt.changes.length === 0 && !attempt.hookOnly) return attempt.outcomes;
    // The requests it ran; with a hook-only commit, the requests waiting: they go to the next batch after it.
    const taken = attempt.hookOnly ? fns : fns.slice(0, attempt.outcomes.length);
    const jobs = taken.map(() => deferred());
    this.inflight = this.settle(taken, attempt, jobs, hook);
    return jobs.map((job) => ({ ok: true, value: job.promise }));
  }

  /**
   * Runs the hook and then as many of the functions as fit in one commit against the
   * mirror; returns their outcomes, net writes and checkouts touched.
   */
  private attempt(
    fns: readonly ((tx: RegistryTx) => unknown)[],
    more: () => boolean,
    hook: boolean,
  ): Attempt {
    const writer = new BatchWriter(this.mirror, this.keys, this.now, ++this.batch, (owner) =>
      this.attachable(owner),
    );
    const outcomes: JobOutcome[] = [];
    let hookOnly = false;
    try {
      const empty = writer.cost;
      if (hook && this.options.beforeBatch) {
        writer.bound = HOOK_OPS;
        const ran = writer.run(this.options.beforeBatch);
        if (!ran.ok) throw ran.error;
        hookOnly = writer.cost > empty && (writer.sawFull || writer.cost > HOOK_OPS);
        writer.bound = MAX_TXN_OPS;
      }
      const hookCost = writer.cost;
      for (const fn of hookOnly ? [] : fns) {
        if (outcomes.length > 0 && !more()) break;
        const mark = writer.mark();
        const outcome = writer.run(fn);
        if (writer.cost > MAX_TXN_OPS) {
          // Past etcd's bound: the request goes to the next batch, or, first after the hook's
          // work, waits until that is committed alone. Alone and still too large: in parts.
          if (outcomes.length > 0 || hookCost > empty) {
            writer.rollback(mark);
            if (outcomes.length === 0) hookOnly = true;
            break;
          }
        }
        outcomes.push(outcome);
      }
    } catch (error) {
      // Leave the mirror as etcd has it, even when the hook threw.
      writer.finish();
      throw error;
    }
    const cost = writer.cost;
    const changes = writer.finish();
    const scopes = new Map<string, ScopeCheck>();
    for (const key of writer.scopesRead) {
      scopes.set(key, { mod: this.mirror.get(key)?.mod ?? null, written: writer.scopesWritten.has(key) });
    }
    return { outcomes, changes, scopes, hookOnly: hookOnly && changes.length > 0, cost };
  }

  /**
   * Commits a batch, rerunning it on conflict; settles every request (or sends it to the
   * next batch: the requests a hook-only commit kept waiting, those a rerun no longer fits).
   * Never rejects.
   */
  private async settle(
    fns: readonly ((tx: RegistryTx) => unknown)[],
    first: Attempt,
    jobs: Deferred[],
    hook: boolean,
  ): Promise<void> {
    let attempt = first;
    const giveUpAt = Date.now() + CONFLICT_WINDOW_MS;
    const rerun = () => this.attempt(fns, () => true, hook);
    try {
      for (let conflicts = 0; ; conflicts++) {
        if (attempt.changes.length === 0) return this.finish(fns, jobs, attempt, hook);
        if (attempt.cost > MAX_TXN_OPS) {
          // One request too large for one transaction: in parts, under the host's fence.
          const done = await this.fence.commitInParts(rerun, giveUpAt, this.hostRecord());
          this.hostRecorded = true;
          return this.finish(fns, jobs, done, hook);
        }
        const now = this.now();
        const commit = buildCommit({
          keys: this.keys,
          changes: attempt.changes,
          scopes: attempt.scopes,
          token: newToken(),
          now,
          hostRecord: this.hostRecord(),
        });
        const result = await sendCommit(this.session, this.keys, this.path, commit);
        if (result.ok) {
          this.hostRecorded = true;
          if (attempt.changes.some((c) => c.after?.t === 'ev')) this.trimEvents(now);
          // Read your writes: the callers' next reads (from the mirror) see this commit. The
          // commit stands even when catching up fails (etcd slow to answer a reload): the
          // mirror gets there with the watch, and the callers get their answers.
          const seen = result.seen;
          await this.follower
            .until(seen ? () => this.shows(seen) : () => this.mirror.revision >= result.revision)
            .catch(() => {});
          return this.finish(fns, jobs, attempt, hook);
        }
        if (conflicts + 1 >= MAX_CONFLICTS || Date.now() > giveUpAt) {
          throw new BerthError(
            'E_REGISTRY',
            `the etcd registry ${this.path}: ${conflicts + 1} commits in a row lost to other processes of host ${this.options.host}. The registry is very busy; try again.`,
          );
        }
        // Another process changed what the batch read: wait until the mirror shows it, plan again.
        await this.follower.until(() => this.shows(result.seen));
        await this.fence.clear(giveUpAt);
        // Exponential back-off with full jitter: the losers of one round spread out.
        const pause = Math.random() * Math.min(CONFLICT_BACKOFF_MAX_MS, 2 ** conflicts);
        if (conflicts > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        attempt = rerun();
      }
    } catch (error) {
      for (const job of jobs) job.reject(error);
    }
  }

  /** Answers the requests an attempt ran; the others go to the next batch. */
  private finish(
    fns: readonly ((tx: RegistryTx) => unknown)[],
    jobs: readonly Deferred[],
    attempt: Attempt,
    hook: boolean,
  ): void {
    const ran = attempt.hookOnly ? 0 : attempt.outcomes.length;
    settleJobs(jobs.slice(0, ran), attempt.outcomes.slice(0, ran));
    for (let i = ran; i < fns.length; i++) jobs[i]!.resolve(this.batches.submit(fns[i]!, hook));
  }

  /** The host's record for this process's first commit, then `null`. */
  private hostRecord(): { address: string | null } | null {
    return this.hostRecorded ? null : { address: this.options.address };
  }

  /**
   * Trims the host's event log to its newest {@link EVENTS_KEPT} events (as the SQLite
   * registry does), at most every {@link TRIM_EVERY_MS} per process, in requests of their
   * own: nobody waits for them, and a failure waits for the next time.
   */
  private trimEvents(now: number): void {
    if (now - this.trimmedAt < TRIM_EVERY_MS) return;
    this.trimmedAt = now;
    const k = this.keys;
    const all = { key: Buffer.from(k.eventPrefix), range_end: prefixEnd(k.eventPrefix) };
    void (async () => {
      const { count } = await this.session.call('count events', (options) =>
        this.session.client.kv.range({ ...all, count_only: true }, options),
      );
      const excess = Number(count) - EVENTS_KEPT;
      if (excess <= 0) return;
      const oldest = await this.session.call('find old events', (options) =>
        this.session.client.kv.range(
          { ...all, keys_only: true, limit: excess, sort_order: 'Ascend', sort_target: 'Key' },
          options,
        ),
      );
      const last = oldest.kvs.at(-1)?.key;
      if (!last) return;
      await this.session.call('trim the event log', (options) =>
        this.session.client.kv.deleteRange(
          { key: all.key, range_end: Buffer.concat([last, Buffer.from([0])]) },
          options,
        ),
      );
    })().catch(() => {});
  }

  /** Whether the mirror shows every key at least as `seen` read it back (or absent). */
  private shows(seen: Seen): boolean {
    return seen.every(({ key, mod }) =>
      mod === null ? this.mirror.get(key) === undefined : (this.mirror.get(key)?.mod ?? 0) >= mod,
    );
  }
}

/** Settles each request with its outcome. */
function settleJobs(jobs: readonly Deferred[], outcomes: readonly JobOutcome[]): void {
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.ok) jobs[i]!.resolve(outcome.value);
    else jobs[i]!.reject(outcome.error);
  }
}

/** A fresh commit token. */
function newToken(): string {
  return randomBytes(9).toString('base64url');
}

/** Whether process `pid` exists on this machine (EPERM: it does, another user's). */
function pidAlive(owner: LeaseOwner): boolean {
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Imports the etcd client ahead of the first open (see preloadChosenRegistry). */
export function preloadEtcdClient(): Promise<void> {
  return EtcdSession.preload();
}

function closedError(path: string): BerthError {
  return new BerthError('E_REGISTRY', `the etcd registry ${path} is closed. Open it again to use it.`);
}
