/**
 * The registry contract (test/contract/registry.ts) against one etcd member: every
 * behaviour of the SQLite registry that the interface promises. Each test gets its
 * own key prefix, as each SQLite test gets its own file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { parseRegistryUrl } from '../../src/core/registry-url.js';
import { lease, registryContract } from '../contract/registry.js';
import { type Cluster, startCluster } from './cluster.js';

let cluster: Cluster;
let n = 0;

beforeAll(async () => {
  cluster = await startCluster(1);
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

/** An etcd registry under a fresh prefix. */
async function openFresh(
  options: { beforeBatch?: Parameters<typeof openEtcdRegistry>[0]['beforeBatch'] } = {},
) {
  const choice = parseRegistryUrl(cluster.url(`contract-${process.pid}-${++n}`));
  if (choice.kind !== 'etcd') throw new Error('not etcd');
  return openEtcdRegistry({
    url: choice.url,
    endpoints: choice.endpoints,
    prefix: choice.prefix,
    host: 'a',
    address: '127.0.0.1',
    ...options,
  });
}

registryContract('etcd', (options) =>
  openFresh(options?.beforeBatch ? { beforeBatch: options.beforeBatch } : {}),
);

describe('etcd registry basics', () => {
  it('opens against a live member', async () => {
    const r = await openFresh();
    expect(r.allLeases()).toEqual([]);
    r.close();
  });
});

describe('etcd registry: processes of one host racing', () => {
  const shared = async () => {
    const prefix = `race-${process.pid}-${++n}`;
    const open = () => {
      const choice = parseRegistryUrl(cluster.url(prefix));
      if (choice.kind !== 'etcd') throw new Error('not etcd');
      return openEtcdRegistry({
        url: choice.url,
        endpoints: choice.endpoints,
        prefix,
        host: 'a',
        address: null,
      });
    };
    return Promise.all([open(), open()]);
  };

  it('two registries leasing the first free port of a range at once: two ports, never one twice', async () => {
    const [r1, r2] = await shared();
    const take = (r: typeof r1) =>
      r.transaction((tx) => {
        const taken = new Set(tx.leasedPorts(4200, 4210));
        const port = [...Array(11).keys()].map((i) => 4200 + i).find((p) => !taken.has(p))!;
        return tx.insert(
          lease({ kind: 'adhoc', project: '', dir: '', environment: '', service: 'getPort', port }),
        ).port;
      });
    const ports = await Promise.all([take(r1), take(r2), take(r1), take(r2)]);
    expect(new Set(ports).size).toBe(4);
    // Another process's commits reach this mirror with the watch, a moment later.
    const deadline = Date.now() + 5000;
    while (r1.allLeases().length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(
      r1
        .allLeases()
        .map((l) => l.port)
        .sort(),
    ).toEqual([...ports].sort());
    r1.close();
    r2.close();
  });

  it('two registries assigning the same service of one checkout: one lease, the other sees it', async () => {
    const [r1, r2] = await shared();
    const assign = (r: typeof r1, port: number) =>
      r.transaction((tx) => {
        const mine = tx
          .scopeLeases({ dir: '/w/shop', environment: 'development' })
          .find((l) => l.service === 'server');
        return mine ? mine.port : tx.insert(lease({ port })).port;
      });
    const [a, b] = await Promise.all([assign(r1, 4300), assign(r2, 4301)]);
    expect(a).toBe(b);
    expect(r2.scopeLeases({ dir: '/w/shop', environment: 'development' })).toHaveLength(1);
    r1.close();
    r2.close();
  });
});
