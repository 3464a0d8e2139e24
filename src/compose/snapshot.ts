/**
 * The facts one allocating transaction plans from: leases by port (loaded in
 * 256-port blocks through the port index, so the cost does not grow with the
 * registry) and the listening sockets read before the transaction began.
 * Every lease in the registry is live here: the batch began by reclaiming the
 * stale ones (src/compose/reclaim.ts), so a leased port is taken, with no
 * per-lease liveness check, and nothing here reads the kernel under the lock.
 */
import type { Occupancy } from '../core/planner.js';
import type { RegistryTx } from '../core/registry.js';
import type { Lease } from '../core/types.js';

const BLOCK_BITS = 8;

/** An {@link Occupancy} over one transaction. */
export class TxSnapshot implements Occupancy {
  /** Leased ports per 256-port block, from the port index alone. */
  private readonly blocks = new Map<number, Set<number>>();
  /** Lease rows looked up so far, by port. */
  private readonly leases = new Map<number, Lease | undefined>();

  /**
   * @param listening ports with a listener, read before the transaction (`null`: unknown, the bind decides)
   * @param busy ports a bind probe just found busy
   */
  constructor(
    private readonly tx: RegistryTx,
    private readonly listeningPorts: ReadonlySet<number> | null,
    private readonly busy: ReadonlySet<number> = new Set(),
  ) {}

  leased(port: number): boolean {
    const block = port >> BLOCK_BITS;
    let ports = this.blocks.get(block);
    if (!ports) {
      const first = block << BLOCK_BITS;
      ports = new Set(this.tx.leasedPorts(first, first + (1 << BLOCK_BITS) - 1));
      this.blocks.set(block, ports);
    }
    return ports.has(port);
  }

  leaseAt(port: number): Lease | undefined {
    if (!this.leased(port)) return undefined;
    if (!this.leases.has(port)) {
      this.leases.set(
        port,
        this.tx.leasesInRange(port, port).find((l) => l.inheritsFrom === null),
      );
    }
    return this.leases.get(port);
  }

  listening(port: number): boolean {
    return this.busy.has(port) || (this.listeningPorts?.has(port) ?? false);
  }

  /** Records a port leased by this transaction, so later picks in it skip the port. */
  take(port: number): void {
    this.leased(port);
    this.blocks.get(port >> BLOCK_BITS)!.add(port);
  }
}
