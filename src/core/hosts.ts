/**
 * Ports belong to hosts. A registry shared by several hosts (etcd) can also answer
 * for the others: which hosts there are, where each is reached, and what they lease.
 * The core owns this interface; src/adapters/registry/etcd implements it.
 */
import type { Lease } from './types.js';

/** One host of a shared registry. */
export interface HostInfo {
  /** `BERTH_HOST`, or the machine's hostname. */
  host: string;
  /** Where other hosts reach its services (`BERTH_ADVERTISE`, default its first non-loopback address); `null` when unknown. */
  address: string | null;
  /** Epoch milliseconds of the host's last write. */
  updatedAt: number;
}

/** A lease with the host it belongs to. */
export type HostLease = Lease & { host: string; address: string | null };

/** Reads across hosts; every read goes to the shared store (async). */
export interface HostDirectory {
  /** This process's host. */
  readonly host: string;
  /** Every host that ever wrote to the registry, by name. */
  hosts(): Promise<HostInfo[]>;
  /** Leases of `host`, or of every host when `null`, ordered by host, project, folder, environment, port. */
  hostLeases(host: string | null): Promise<HostLease[]>;
}
