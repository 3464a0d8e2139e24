/**
 * One batch's transaction against the mirror: the synchronous `RegistryTx` the core
 * plans in. Reads see the mirror plus the batch's own writes; writes go into the
 * mirror with an undo journal (a request that throws undoes its own, as SQLite's
 * savepoint does), and when the batch has run, `finish()` takes the net changes for
 * the commit and undoes everything: the mirror goes back to what etcd holds.
 *
 * The uniqueness SQLite's indexes enforce is checked here against the snapshot and
 * made to hold at commit time by the commit's compares: a port's key must still be
 * absent when it is leased, and the checkout's revision key (every transaction that
 * reads or writes a checkout's leases records it here) must not have moved.
 */
import { randomBytes } from 'node:crypto';
import type { NewLease, NewRegistryEvent, RegistryTx, RemovalReason, Scope } from '../../../core/registry.js';
import type { Lease, LeaseOwner } from '../../../core/types.js';
import { BerthError } from '../../../errors.js';
import { commitCost, MAX_TXN_OPS } from './commit.js';
import type { KeySpace } from './keys.js';
import { EVENT_ID_SCALE, type Item, type Mirror } from './mirror.js';

/** A key's change in a batch: what the snapshot held and what the batch leaves. */
export interface Change {
  key: string;
  before: Item | undefined;
  after: Item | undefined;
}

/**
 * Lease ids: the port times this, plus 32 random bits. Unique among a host's leases
 * without a counter every process would have to agree on (checked against the mirror),
 * and a released port's next lease gets another id.
 */
const ID_PORT_SCALE = 2 ** 32;

/**
 * Room `tx.full()` keeps for the work that follows its last "no": the largest single
 * removal (a service's lease, its inheritors, its remembered port, its checkout's key and
 * its event) or insertion, in compares plus operations.
 */
const FULL_RESERVE = 16;

/** A point in a batch's writes to roll back to (see {@link BatchWriter.mark}). */
export interface WriterMark {
  journal: number;
  scopes: number;
}

/** Runs a batch's requests against the mirror and collects their writes. */
export class BatchWriter {
  private readonly journal: { key: string; prev: Item | undefined; first: boolean }[] = [];
  /** Keys written so far (each a compare and an operation of the commit, at most). */
  private readonly touched = new Set<string>();
  private readonly scopeLog: { key: string; written: boolean }[] = [];
  private eventIndex = 0;
  /** Place of the next lease in this commit (insertion order). */
  private ord = 0;
  /** Revision keys of the checkouts the batch read, and of those it wrote. */
  readonly scopesRead = new Set<string>();
  readonly scopesWritten = new Set<string>();
  /** The cost at which `tx.full()` says yes (less {@link FULL_RESERVE}); see {@link commitCost}. */
  bound = MAX_TXN_OPS;
  /** Whether `tx.full()` said yes: the work that asked stopped early. */
  sawFull = false;
  readonly tx: RegistryTx;

  constructor(
    private readonly mirror: Mirror,
    private readonly keys: KeySpace,
    private readonly now: () => number,
    batch: number,
    /** Whether a lease of `owner` is attached to this process's etcd lease (its own leases only). */
    private readonly attachable: (owner: LeaseOwner) => boolean,
  ) {
    this.tx = this.makeTx(batch);
  }

  /** Runs one request; on a throw its writes are undone and the error returned. */
  run(fn: (tx: RegistryTx) => unknown): { ok: true; value: unknown } | { ok: false; error: unknown } {
    const mark = this.mark();
    try {
      return { ok: true, value: fn(this.tx) };
    } catch (error) {
      this.rollback(mark);
      return { ok: false, error };
    }
  }

  /** Where the batch's writes stand now. */
  mark(): WriterMark {
    return { journal: this.journal.length, scopes: this.scopeLog.length };
  }

  /** Undoes every write (and checkout read) after `mark`. */
  rollback(mark: WriterMark): void {
    this.undoTo(mark.journal);
    while (this.scopeLog.length > mark.scopes) {
      const { key, written } = this.scopeLog.pop()!;
      (written ? this.scopesWritten : this.scopesRead).delete(key);
    }
  }

  /**
   * Compares plus operations the commit of the batch so far will carry, at most (a key
   * written back to what it held still counts): with the host's record and a fence compare.
   */
  get cost(): number {
    return commitCost({
      changes: this.touched.size,
      scopes: this.scopesRead.size,
      written: this.scopesWritten.size,
      hostRecord: true,
      fenceOp: false,
    });
  }

  /** The batch's net changes; the mirror is left as it was before the batch. */
  finish(): Change[] {
    const first = new Map<string, Item | undefined>();
    for (const { key, prev } of this.journal) if (!first.has(key)) first.set(key, prev);
    const changes: Change[] = [];
    for (const [key, before] of first) {
      const after = this.mirror.get(key);
      if (after !== before) changes.push({ key, before, after });
    }
    this.undoTo(0);
    return changes;
  }

  private undoTo(mark: number): void {
    while (this.journal.length > mark) {
      const { key, prev, first } = this.journal.pop()!;
      this.mirror.set(key, prev ?? null);
      if (first) this.touched.delete(key);
    }
  }

  private set(key: string, item: Item | null): void {
    const first = !this.touched.has(key);
    if (first) this.touched.add(key);
    this.journal.push({ key, prev: this.mirror.set(key, item), first });
  }

  /** Records a checkout read (and written): the commit compares (and writes) its revision key. */
  private touchScope(dir: string, environment: string, written: boolean): void {
    const key = this.keys.scope(dir, environment);
    if (!this.scopesRead.has(key)) {
      this.scopesRead.add(key);
      this.scopeLog.push({ key, written: false });
    }
    if (written && !this.scopesWritten.has(key)) {
      this.scopesWritten.add(key);
      this.scopeLog.push({ key, written: true });
    }
  }

  /** Whether the commit is near {@link bound}: work that may stop early stops (RegistryTx.full). */
  private full(): boolean {
    if (this.cost + FULL_RESERVE < this.bound) return false;
    this.sawFull = true;
    return true;
  }

  private newId(port: number): number {
    for (;;) {
      const id = port * ID_PORT_SCALE + randomBytes(4).readUInt32BE(0);
      if (this.mirror.lease(id) === null) return id;
    }
  }

  private insert(lease: NewLease): Lease {
    const m = this.mirror;
    const root = lease.inheritsFrom === null;
    const key = this.keys.lease(lease.port, root ? null : lease.service);
    if (lease.kind === 'service') this.touchScope(lease.dir, lease.environment, true);
    const clash =
      m.get(key) !== undefined ||
      (root && m.leasedPorts(lease.port, lease.port).length > 0) ||
      (lease.kind === 'service' &&
        m
          .scopeLeases({ dir: lease.dir, environment: lease.environment })
          .some((l) => l.service === lease.service));
    if (clash) {
      throw new BerthError(
        'E_PORT_HELD',
        `port ${lease.port} or service ${lease.service} is already leased. Run \`berth ls --all-projects\` to see who holds it.`,
        { data: { port: lease.port, service: lease.service } },
      );
    }
    const created: Lease = { ...lease, id: this.newId(lease.port) };
    this.set(key, {
      t: 'lease',
      lease: created,
      mod: 0,
      attached: this.attach(created.owner),
      created: 0,
      ord: this.ord++,
    });
    if (lease.kind === 'service') this.remember(created);
    return created;
  }

  private attach(owner: LeaseOwner | null): boolean {
    return owner !== null && this.attachable(owner);
  }

  private keyOf(lease: Lease): string {
    return this.keys.lease(lease.port, lease.inheritsFrom === null ? null : lease.service);
  }

  private remember(lease: Pick<Lease, 'dir' | 'environment' | 'service' | 'project' | 'port'>): void {
    this.set(this.keys.history(lease.dir, lease.environment, lease.service), {
      t: 'hist',
      dir: lease.dir,
      environment: lease.environment,
      service: lease.service,
      project: lease.project,
      port: lease.port,
      updatedAt: this.now(),
      mod: 0,
    });
  }

  /** Deletes a lease (and, for an owning service lease, the leases inheriting its port), remembering the port. */
  private removeLease(lease: Lease | null): void {
    if (!lease) return;
    this.set(this.keyOf(lease), null);
    if (lease.kind !== 'service') return;
    this.touchScope(lease.dir, lease.environment, true);
    this.remember(lease);
    if (lease.inheritsFrom !== null) return;
    for (const other of this.mirror.leasesInRange(lease.port, lease.port)) {
      if (other.inheritsFrom !== null && other.dir === lease.dir && other.environment === lease.environment) {
        this.set(this.keyOf(other), null);
      }
    }
  }

  private makeTx(batch: number): RegistryTx {
    const m = this.mirror;
    return {
      batch,
      scopeLeases: (scope) => {
        this.touchScope(scope.dir, scope.environment, false);
        return m.scopeLeases(scope);
      },
      leasedPorts: (min, max) => m.leasedPorts(min, max),
      leasesInRange: (min, max) => m.leasesInRange(min, max),
      lease: (id) => m.lease(id),
      owners: () => m.owners(),
      leasesOwnedBy: (pid) => m.leasesOwnedBy(pid),
      allLeases: () => m.allLeases(),
      history: (scope) => {
        this.touchScope(scope.dir, scope.environment, false);
        return m.history(scope);
      },
      eventsSince: (afterId, limit) => m.eventsSince(afterId, limit),
      lastEventId: () => m.lastEventId(),
      insert: (lease) => this.insert(lease),
      setOwner: (id: number, owner: LeaseOwner | null, expiresAt: number | null) => {
        const lease = m.lease(id);
        if (!lease) return;
        const key = this.keyOf(lease);
        const item = m.get(key);
        if (item?.t !== 'lease') return;
        if (lease.kind === 'service') this.touchScope(lease.dir, lease.environment, true);
        this.set(key, { ...item, lease: { ...lease, owner, expiresAt }, attached: this.attach(owner) });
      },
      remove: (id: number, _reason: RemovalReason) => this.removeLease(m.lease(id)),
      removeOwnedBy: (owner: LeaseOwner, _reason: RemovalReason) => {
        const start = owner.startTime ?? '';
        const leases = m.leasesOwnedBy(owner.pid).filter((l) => (l.owner?.startTime ?? '') === start);
        for (const lease of leases) this.removeLease(m.lease(lease.id));
        return leases;
      },
      forgetHistory: (scope: Scope) => {
        this.touchScope(scope.dir, scope.environment, true);
        for (const [service] of m.history(scope)) {
          this.set(this.keys.history(scope.dir, scope.environment, service), null);
        }
      },
      expired: (now) => m.expired(now),
      full: () => this.full(),
      recordEvent: (event: NewRegistryEvent) => {
        // Ids are revision * EVENT_ID_SCALE + index: past that many events in one commit they would collide.
        if (this.eventIndex >= EVENT_ID_SCALE) return;
        const key = this.keys.event(event.at, randomBytes(6).toString('hex'));
        this.set(key, { t: 'ev', event, index: this.eventIndex++, mod: 0 });
      },
    };
  }
}
