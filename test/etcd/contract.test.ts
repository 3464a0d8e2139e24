/**
 * The registry contract (test/contract/registry.ts) against one etcd member: every
 * behaviour of the SQLite registry that the interface promises. Each test gets its
 * own key prefix, as each SQLite test gets its own file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { parseRegistryUrl } from '../../src/adapters/registry/etcd/url.js';
import { registryContract } from '../contract/registry.js';
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
