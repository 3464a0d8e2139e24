/**
 * A normal exit releases on etcd too: a process that ends by returning, by
 * process.exit(), or on SIGINT / SIGTERM has its getPort() leases gone for other hosts
 * at once (its etcd lease is revoked on the way out), not after the lease's TTL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { PROCESS_LEASE_TTL_S } from '../../src/adapters/registry/etcd/session.js';
import { type Cluster, startCluster } from './cluster.js';
import { openHost } from './open-host.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;

let cluster: Cluster;
let other: EtcdRegistry;

beforeAll(async () => {
  cluster = await startCluster(1);
  other = await openHost(cluster.url('exit'), 'b');
}, 60_000);

afterAll(async () => {
  other?.close();
  await cluster?.destroy();
});

type Ending = 'return' | 'process.exit()' | 'SIGINT' | 'SIGTERM';

/** A process on host a that leases three ports, says which, then ends as `ending` says. */
function holder(ending: Ending): { child: ChildProcess; ports: Promise<number[]> } {
  const end =
    ending === 'process.exit()'
      ? 'process.exit(0);'
      : ending === 'return'
        ? ''
        : 'setInterval(() => {}, 1e6);';
  const script = `
    const { getPort } = await import(${JSON.stringify(DIST)});
    const ports = await Promise.all([getPort(), getPort(), getPort()]);
    console.log(JSON.stringify(ports));
    ${end}`;
  const env = { ...process.env, BERTH_REGISTRY: cluster.url('exit'), BERTH_HOST: 'a' };
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ports = once(lines, 'line').then(([line]) => JSON.parse(line as string) as number[]);
  return { child, ports };
}

/** Host a's leased ports, as host b reads them from etcd. */
async function onA(): Promise<Set<number>> {
  return new Set((await other.directory.hostLeases('a')).map((l) => l.port));
}

describe('a normal exit on etcd', () => {
  for (const ending of ['return', 'process.exit()', 'SIGINT', 'SIGTERM'] as const) {
    it(`by ${ending}: the leases are gone for other hosts at once`, async () => {
      const { child, ports: said } = holder(ending);
      const exited = once(child, 'exit');
      const ports = await said;
      expect(ports).toHaveLength(3);
      const before = await onA();
      for (const p of ports) expect(before.has(p)).toBe(true);
      const signalledAt = Date.now();
      if (ending === 'SIGINT' || ending === 'SIGTERM') child.kill(ending);
      const [code, signal] = await exited;
      // A signal nobody else handles still ends the process by that signal, promptly.
      if (ending === 'SIGINT' || ending === 'SIGTERM') {
        expect(signal).toBe(ending);
        expect(Date.now() - signalledAt).toBeLessThan(3_000);
      } else expect(code).toBe(0);
      // Gone when the process is: no wait for the etcd lease's TTL.
      const exitedAt = Date.now();
      const after = await onA();
      const left = ports.filter((p) => after.has(p));
      expect(left, `${Date.now() - exitedAt} ms after the exit`).toEqual([]);
      expect(Date.now() - exitedAt).toBeLessThan(PROCESS_LEASE_TTL_S * 1000);
      // No lease of the process is left on host a, the zero-config reserve included.
      expect([...after]).toEqual([]);
    }, 60_000);
  }
});
