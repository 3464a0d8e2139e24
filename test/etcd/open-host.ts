/**
 * Opening the etcd registry of one host inside a test (as the composition does, with the
 * reclaimer as its batch hook when asked), and processes to own leases: a live one that
 * holds them, a dead one whose leases are reclaimable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readStartTime } from '../../src/adapters/process/stat.js';
import { createProcessTable } from '../../src/adapters/process/table.js';
import { type EtcdRegistry, openEtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { Reclaimer } from '../../src/compose/reclaim.js';
import { parseRegistryUrl } from '../../src/core/registry-url.js';
import type { LeaseOwner } from '../../src/core/types.js';
import { lease } from '../contract/registry.js';

/**
 * The registry of `host` at `url` (an `etcd://` URL with its prefix); `reclaim`: with the
 * reclaimer as its batch hook. The caller closes it.
 *
 * @example
 * const b = await openHost(cluster.url('t1'), 'b');
 */
export async function openHost(url: string, host: string, reclaim = false): Promise<EtcdRegistry> {
  const choice = parseRegistryUrl(url);
  if (choice.kind !== 'etcd') throw new Error(`${url} is not an etcd registry`);
  const processes = createProcessTable();
  const reclaimer = new Reclaimer(processes, Date.now);
  return openEtcdRegistry({
    url: choice.url,
    endpoints: choice.endpoints,
    prefix: choice.prefix,
    host,
    address: '127.0.0.1',
    self: processes.self(),
    isAlive: (o) => processes.isAlive(o),
    ...(reclaim ? { beforeBatch: (tx) => void reclaimer.reclaim(tx) } : {}),
  });
}

/** A process that lives until killed: an owner whose leases are live. */
export function liveOwner(): { owner: LeaseOwner; child: ChildProcess } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  const pid = child.pid!;
  return { owner: { pid, startTime: readStartTime(pid) }, child };
}

/** A process that has exited (reaped): an owner whose leases are reclaimable at once. */
export async function deadOwner(): Promise<LeaseOwner> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 200)'], { stdio: 'ignore' });
  const pid = child.pid!;
  const startTime = readStartTime(pid);
  await once(child, 'exit');
  return { pid, startTime };
}

/** A getPort() lease of `port` owned by `owner`, to insert. */
export const adhoc = (port: number, owner: LeaseOwner | null) =>
  lease({
    kind: 'adhoc',
    project: '',
    dir: '',
    environment: '',
    service: 'getPort',
    port,
    owner,
    scheme: null,
  });
