/**
 * Discovery across hosts: the leases of other hosts of a shared registry (etcd), and
 * the URLs that reach their services at the host's advertised address, not localhost.
 * A single host's registry (SQLite) is one host: this machine.
 */

import type { HostLease } from '../core/hosts.js';
import type { Registry } from '../core/registry.js';
import type { Lease } from '../core/types.js';
import { hostName, urlHost } from './context.js';

/**
 * The leases of `host` (every host when `null`), read from the shared store now.
 * With a single host's registry: this machine's leases, under its name.
 *
 * @example
 * const leases = await hostLeases(adapters.registry, 'ci-7');
 */
export async function hostLeases(registry: Registry, host: string | null): Promise<HostLease[]> {
  if (registry.directory) return registry.directory.hostLeases(host);
  const self = hostName();
  if (host !== null && host !== self) return [];
  return registry.allLeases().map((l) => ({ ...l, host: self, address: null }));
}

/** This process's host name in the registry. */
export function thisHost(registry: Registry): string {
  return registry.directory?.host ?? hostName();
}

/**
 * The URL of a lease as another host reaches it: the host's advertised address, or
 * localhost for this host (and for a host that advertises none).
 *
 * @example
 * hostUrl({ scheme: 'http', port: 3000, host: 'b', address: '10.0.0.7' }, 'a') // 'http://10.0.0.7:3000'
 */
export function hostUrl(
  lease: Pick<Lease, 'scheme' | 'port'> & { host: string; address: string | null },
  self: string,
): string {
  const where = lease.host === self || lease.address === null ? 'localhost' : urlHost(lease.address);
  return `${lease.scheme ?? 'tcp'}://${where}:${lease.port}`;
}
