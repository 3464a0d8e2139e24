/**
 * The etcd suite and the bench run etcd as users do: with its defaults. Every member is
 * started with names, URLs, data folders and the initial cluster only, so etcd's own
 * bounds hold: a transaction of 129 operations is refused, one of 128 accepted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: the bench's helpers are plain ES modules without types.
import { startEtcd } from '../../bench/support/etcd-cluster.mjs';
import { type Cluster, startCluster } from './cluster.js';

/** The flags a member may get: who it is, where it listens and keeps its data, its initial cluster. */
const ALLOWED_FLAGS = new Set([
  '--name',
  '--data-dir',
  '--listen-client-urls',
  '--advertise-client-urls',
  '--listen-peer-urls',
  '--initial-advertise-peer-urls',
  '--initial-cluster',
  '--initial-cluster-state',
  '--initial-cluster-token',
]);

/** The flags of a running process, from /proc/<pid>/cmdline. */
function flagsOf(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return argv.slice(1).map((a) => a.split('=')[0]!);
}

/** Sends a transaction of `n` puts under `prefix` to the member at `port`; its error message, or 'ok'. */
async function txnOf(port: number, prefix: string, n: number): Promise<string> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: `http://127.0.0.1:${port}` });
  try {
    await client.kv.txn({
      compare: [],
      success: Array.from({ length: n }, (_, i) => ({
        request_put: { key: Buffer.from(`${prefix}/${i}`), value: Buffer.from('x') },
      })),
      failure: [],
    });
    return 'ok';
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.close();
  }
}

const clusters: { destroy(): Promise<unknown> }[] = [];
afterAll(async () => {
  for (const c of clusters) await c.destroy();
});

describe('etcd as users run it', () => {
  it("the suite's and the bench's members run with etcd's defaults: no flag beyond names, URLs, data and the initial cluster", async () => {
    const suite: Cluster = await startCluster(3);
    clusters.push(suite);
    const benchData = mkdtempSync(join(tmpdir(), 'berth-etcd-bench-'));
    const bench = await startEtcd(1, benchData);
    clusters.push({
      destroy: () => bench.destroy().then(() => rmSync(benchData, { recursive: true, force: true })),
    });
    const pids = [
      ...suite.members.map((m) => m.process!.pid!),
      ...bench.members.map((m: { process: { pid: number } }) => m.process.pid),
    ];
    for (const pid of pids) {
      const flags = flagsOf(pid);
      expect(flags.length).toBeGreaterThan(0);
      expect(flags.filter((f) => !ALLOWED_FLAGS.has(f))).toEqual([]);
    }
    // etcd's own bound on a transaction is its default, 128 operations.
    const port = suite.members[0]!.clientPort;
    expect(await txnOf(port, 'defaults/a', 128)).toBe('ok');
    expect(await txnOf(port, 'defaults/b', 129)).toMatch(/too many operations/);
  }, 90_000);
});
