/**
 * One batch's transaction against the mirror: the synchronous `RegistryTx` the core
 * plans in. Reads see the mirror plus the batch's own writes; writes go into the
 * mirror with an undo journal (a request that throws undoes its own, as SQLite's
 * savepoint does), and when the batch has run, `finish()` takes the net changes for
 * the commit and undoes everything: the mirror goes back to what etcd holds.
 *
 * The uniqueness SQLite's indexes enforce (one owning lease per port, one lease per
 * service of a checkout) is checked here against the snapshot. That is enough because
 * the commit compares the host's revision key: it applies only if no other
 * transaction wrote the host's keys since the snapshot.
 */
import type { NewLease, NewRegistryEvent, RegistryTx, RemovalReason } from '../../../core/registry.js';
import type { Lease, LeaseOwner } from '../../../core/types.js';
import { BerthError } from '../../../errors.js';
import type { KeySpace } from './keys.js';
import { EVENT_ID_SCALE, type Item, type Mirror } from './mirror.js';

/** A key's change in a batch: what the snapshot held and what the batch leaves. */
export interface Change {
  key: string;
  before: Item | undefined;
  after: Item | undefined;
}

/** Runs a batch's requests against the mirror and collects their writes. */
export class BatchWriter {
  private readonly journal: { key: string; prev: Item | undefined }[] = [];
  /** Next id or event sequence number (the host's `seq` counter). */
  seq: number;
  private eventIndex = 0;
  readonly tx: RegistryTx;

  constructor(
    private readonly mirror: Mirror,
    private readonly keys: KeySpace,
    private readonly now: () => number,
    batch: number,
    /** Whether leases with an owner are attached to this process's etcd lease. */
    private readonly attachOwned: boolean,
  ) {
    this.seq = mirror.rev?.seq ?? 0;
    this.tx = this.makeTx(batch);
  }

  /** Runs one request; on a throw its writes are undone and the error returned. */
  run(fn: (tx: RegistryTx) => unknown): { ok: true; value: unknown } | { ok: false; error: unknown } {
    const mark = this.journal.length;
    try {
      return { ok: true, value: fn(this.tx) };
    } catch (error) {
      this.undoTo(mark);
      return { ok: false, error };
    }
  }

  /** Writes so far (a rough count of the operations the commit will carry). */
  get writes(): number {
    return this.journal.length;
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
      const { key, prev } = this.journal.pop()!;
      this.mirror.set(key, prev ?? null);
    }
  }

  private set(key: string, item: Item | null): void {
    this.journal.push({ key, prev: this.mirror.set(key, item) });
  }

  private insert(lease: NewLease): Lease {
    const m = this.mirror;
    const root = lease.inheritsFrom === null;
    const key = this.keys.lease(lease.port, root ? null : lease.service);
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
    const created: Lease = { ...lease, id: ++this.seq };
    this.set(key, { t: 'lease', lease: created, mod: 0, attached: this.attach(created.owner) });
    if (lease.kind === 'service') this.remember(created);
    return created;
  }

  private attach(owner: LeaseOwner | null): boolean {
    return owner !== null && this.attachOwned;
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
      scopeLeases: (scope) => m.scopeLeases(scope),
      leasedPorts: (min, max) => m.leasedPorts(min, max),
      leasesInRange: (min, max) => m.leasesInRange(min, max),
      lease: (id) => m.lease(id),
      owners: () => m.owners(),
      leasesOwnedBy: (pid) => m.leasesOwnedBy(pid),
      allLeases: () => m.allLeases(),
      history: (scope) => m.history(scope),
      eventsSince: (afterId, limit) => m.eventsSince(afterId, limit),
      lastEventId: () => m.lastEventId(),
      insert: (lease) => this.insert(lease),
      setOwner: (id: number, owner: LeaseOwner | null, expiresAt: number | null) => {
        const lease = m.lease(id);
        if (!lease) return;
        const key = this.keyOf(lease);
        const item = m.get(key);
        if (item?.t !== 'lease') return;
        this.set(key, { ...item, lease: { ...lease, owner, expiresAt }, attached: this.attach(owner) });
      },
      remove: (id: number, _reason: RemovalReason) => this.removeLease(m.lease(id)),
      removeOwnedBy: (owner: LeaseOwner, _reason: RemovalReason) => {
        const start = owner.startTime ?? '';
        const leases = m.leasesOwnedBy(owner.pid).filter((l) => (l.owner?.startTime ?? '') === start);
        for (const lease of leases) this.removeLease(m.lease(lease.id));
        return leases;
      },
      expired: (now) => m.expired(now),
      recordEvent: (event: NewRegistryEvent) => {
        // Ids are revision * EVENT_ID_SCALE + index: past that many events in one commit they would collide.
        if (this.eventIndex >= EVENT_ID_SCALE) return;
        this.set(this.keys.event(++this.seq), { t: 'ev', event, index: this.eventIndex++, mod: 0 });
      },
    };
  }
}
