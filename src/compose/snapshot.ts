/**
 * The facts one allocating transaction plans from: leases by port (loaded in
 * 256-port blocks through the port index, so the cost does not grow with the
 * registry), the kernel's listening sockets, and liveness of lease owners.
 * Leases found dead or expired are collected and reclaimed by `reclaim()` in
 * the same transaction, before anything is inserted.
 */
import type { KernelFacts, ProcessTable } from '../core/facts.js';
import type { Occupancy } from '../core/planner.js';
import { leaseEvent, type RegistryTx } from '../core/registry.js';
import type { Lease, LeaseState } from '../core/types.js';

const BLOCK_BITS = 8;

/** Why a lease is no longer live, or `null` while it is. */
export function staleness(
  lease: Lease,
  now: number,
  processes: ProcessTable,
): 'expired' | 'owner-dead' | null {
  if (lease.expiresAt !== null && lease.expiresAt <= now) return 'expired';
  if (lease.owner && !processes.isAlive(lease.owner)) return 'owner-dead';
  return null;
}

/** The state `berth ls` shows: stale (owner dead or expired), bound (something listens) or reserved. */
export function leaseState(
  lease: Lease,
  now: number,
  processes: ProcessTable,
  listening: ReadonlySet<number> | null,
): LeaseState {
  const stale = staleness(lease, now, processes);
  if (stale) return { state: 'stale', reason: stale };
  return listening?.has(lease.port) ? { state: 'bound' } : { state: 'reserved' };
}

/** An {@link Occupancy} over one transaction, plus the stale leases it met. */
export class TxSnapshot implements Occupancy {
  /** Leased ports per 256-port block, from the port index alone. */
  private readonly blocks = new Map<number, Set<number>>();
  /** Live leases looked up so far, by port. */
  private readonly leases = new Map<number, Lease>();
  private readonly stale = new Map<number, { lease: Lease; reason: 'expired' | 'owner-dead' }>();
  private kernelPorts: ReadonlySet<number> | null | undefined;

  constructor(
    private readonly tx: RegistryTx,
    private readonly kernel: KernelFacts,
    private readonly processes: ProcessTable,
    private readonly now: number,
    private readonly busy: ReadonlySet<number> = new Set(),
  ) {}

  leaseAt(port: number): Lease | undefined {
    const block = port >> BLOCK_BITS;
    let ports = this.blocks.get(block);
    if (!ports) {
      const first = block << BLOCK_BITS;
      ports = new Set(this.tx.leasedPorts(first, first + (1 << BLOCK_BITS) - 1));
      this.blocks.set(block, ports);
    }
    if (!ports.has(port)) return undefined;
    let lease = this.leases.get(port);
    if (lease === undefined) {
      // Only now the whole row, and the owner's liveness: one /proc read for the port asked about.
      lease = this.tx.leasesInRange(port, port).find((l) => l.inheritsFrom === null);
      if (lease === undefined || !this.live(lease)) {
        ports.delete(port);
        return undefined;
      }
      this.leases.set(port, lease);
    }
    return lease;
  }

  listening(port: number): boolean {
    if (this.busy.has(port)) return true;
    // Read lazily: a plan that only keeps sticky leases never needs the kernel's table.
    if (this.kernelPorts === undefined) this.kernelPorts = this.kernel.listeningPorts();
    return this.kernelPorts?.has(port) ?? false;
  }

  /** True while `lease` is live; records it for reclaiming otherwise. */
  live(lease: Lease): boolean {
    const reason = staleness(lease, this.now, this.processes);
    if (reason === null) return true;
    this.stale.set(lease.id, { lease, reason });
    return false;
  }

  /** Removes every stale lease met so far; returns them for events and messages. */
  reclaim(): { lease: Lease; reason: 'expired' | 'owner-dead' }[] {
    const out = [...this.stale.values()];
    for (const { lease, reason } of out) {
      this.tx.remove(lease.id, 'reclaimed');
      if (lease.kind === 'service') {
        const detail = reason === 'expired' ? 'lease expired' : `owner pid ${lease.owner?.pid} died`;
        this.tx.recordEvent(leaseEvent(lease, 'reclaimed', this.now, detail));
      }
    }
    this.stale.clear();
    return out;
  }
}
