/**
 * Reads across hosts (src/core/hosts.ts): the hosts that wrote to the registry, where
 * each is reached, and their leases, read from etcd when asked (the mirror holds only
 * this host's keys).
 */
import type { HostDirectory, HostInfo, HostLease } from '../../../core/hosts.js';
import { rawKv, readPaged } from './follow.js';
import { KeySpace, prefixEnd } from './keys.js';
import { decodeItem } from './mirror.js';
import type { EtcdSession } from './session.js';

/**
 * The directory of a registry whose keys are `keys` (this host's).
 *
 * @example
 * const leases = await createDirectory(session, keys).hostLeases('ci-7');
 */
export function createDirectory(session: EtcdSession, keys: KeySpace): HostDirectory {
  const hosts = async (): Promise<HostInfo[]> => {
    const res = await session.call('list hosts', (options) =>
      session.client.kv.range(
        { key: Buffer.from(keys.hostsPrefix), range_end: prefixEnd(keys.hostsPrefix) },
        options,
      ),
    );
    const out: HostInfo[] = [];
    for (const kv of res.kvs) {
      const host = keys.hostOf(kv.key.toString());
      if (host === null) continue;
      let json: { address?: unknown; updated_at?: unknown } = {};
      try {
        json = JSON.parse(kv.value.toString()) as typeof json;
      } catch {
        // a malformed record still names a host
      }
      out.push({
        host,
        address: typeof json.address === 'string' ? json.address : null,
        updatedAt: Number.isInteger(json.updated_at) ? (json.updated_at as number) : 0,
      });
    }
    return out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  };

  const hostLeases = async (host: string | null): Promise<HostLease[]> => {
    const known = await hosts();
    const wanted = host === null ? known : known.filter((h) => h.host === host);
    if (host !== null && wanted.length === 0) wanted.push({ host, address: null, updatedAt: 0 });
    const lists = await Promise.all(
      wanted.map(async (info) => {
        const theirs = new KeySpace(keys.prefix, info.host);
        // In pages: a host's leases may be more than one gRPC answer holds.
        const res = await readPaged(
          session,
          theirs.leasePrefix,
          prefixEnd(theirs.leasePrefix),
          null,
          `read the leases of host ${info.host}`,
        );
        return res.kvs.flatMap((kv) => {
          const item = decodeItem(theirs, rawKv(kv));
          return item?.t === 'lease' ? [{ ...item.lease, host: info.host, address: info.address }] : [];
        });
      }),
    );
    return lists.flat();
  };
  return { host: keys.host, hosts, hostLeases };
}
