/**
 * Commits of any size on a stock etcd member (at most 128 operations and compares per
 * transaction): a request larger than one transaction, committed in parts under the
 * host's fence and seen whole or not at all by others; the reclaim of hundreds of dead
 * owners' leases in bounded chunks; a fence left by a process that died.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { lease } from '../contract/registry.js';
import { type Cluster, startCluster } from './cluster.js';
import { adhoc, deadOwner, openHost } from './open-host.js';

let cluster: Cluster;
let n = 0;
const opened: EtcdRegistry[] = [];

beforeAll(async () => {
  cluster = await startCluster(1);
}, 60_000);

afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});

afterAll(async () => {
  await cluster?.destroy();
});

/** A registry of host `a` under `prefix`; `reclaim`: with the reclaimer as its batch hook. */
async function open(prefix: string, reclaim = false): Promise<EtcdRegistry> {
  const registry = await openHost(cluster.url(prefix), 'a', reclaim);
  opened.push(registry);
  return registry;
}

describe('commits on a stock etcd member', () => {
  it('one request of 2,000 leases commits (in parts); another process sees none or all of them', async () => {
    const prefix = `sizes-${++n}`;
    const writer = await open(prefix);
    const reader = await open(prefix);
    const counts: number[] = [];
    let done = false;
    // Another process's transactions while the parts land: each sees the whole request or nothing.
    const watching = (async () => {
      while (!done) {
        counts.push(await reader.transaction((tx) => tx.leasedPorts(30000, 39999).length));
        // A read-only transaction is answered from the mirror: let the writer's I/O run between them.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const ids = await writer.transaction((tx) =>
      Array.from({ length: 2000 }, (_, i) => tx.insert(adhoc(30000 + i, null)).id),
    );
    done = true;
    await watching;
    expect(ids).toHaveLength(2000);
    expect(writer.leasedPorts(30000, 39999)).toHaveLength(2000);
    expect(counts.length).toBeGreaterThan(0);
    expect(counts.filter((c) => c !== 0 && c !== 2000)).toEqual([]);
    // A fresh load sees them too (paged: more than one answer's worth of keys).
    const fresh = await open(prefix);
    expect(fresh.leasedPorts(30000, 39999)).toHaveLength(2000);
    // And releasing them all is one request again.
    await writer.transaction((tx) => {
      for (const id of ids) tx.remove(id, 'released');
    });
    expect(writer.allLeases()).toEqual([]);
  }, 120_000);

  it('reclaims 600 leases of dead owners in bounded chunks; the request behind the reclaim gets its ports', async () => {
    const prefix = `sizes-${++n}`;
    const seed = await open(prefix);
    const dead = [await deadOwner(), await deadOwner()];
    await seed.transaction((tx) => {
      for (let i = 0; i < 500; i++) tx.insert(adhoc(31000 + i, dead[i % 2]!));
      // Service leases too: each is removed with its history, its checkout's key and an event.
      for (let i = 0; i < 50; i++) {
        const dir = `/w/shop-${i}`;
        tx.insert(lease({ port: 32000 + i, dir, owner: dead[0]! }));
        tx.insert(
          lease({ port: 32000 + i, dir, service: 'websocket', inheritsFrom: 'server', owner: dead[0]! }),
        );
      }
    });
    expect(seed.allLeases()).toHaveLength(600);
    const host = await open(prefix, true);
    const ports = await host.transaction((tx) =>
      [33000, 33001, 33002].map((p) => tx.insert(adhoc(p, null)).port),
    );
    expect(ports).toEqual([33000, 33001, 33002]);
    expect(host.allLeases().map((l) => l.port)).toEqual([33000, 33001, 33002]);
    const reclaimed = host.eventsSince(0, 1000).filter((e) => e.type === 'reclaimed');
    expect(reclaimed).toHaveLength(50);
    expect(host.history({ dir: '/w/shop-7', environment: 'development' }).get('server')).toBe(32007);
  }, 120_000);

  it('a fence left by a process that died is lifted: the host does not wait for its etcd lease to expire', async () => {
    const prefix = `sizes-${++n}`;
    const r = await open(prefix);
    const { pid, startTime } = await deadOwner();
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: cluster.endpoints.map((e) => `http://${e}`) });
    await client.put(`${prefix}/h/a/fence`).value(JSON.stringify({ t: 'x', pid, start: startTime, at: 1 }));
    client.close();
    const started = Date.now();
    await r.transaction((tx) => tx.insert(adhoc(34000, null)));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.leasedPorts(34000, 34000)).toEqual([34000]);
  }, 60_000);
});
