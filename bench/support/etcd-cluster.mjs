/**
 * etcd members for the bench's etcd section: started from the `etcd` binary on PATH on
 * free loopback ports of the bench's bands, each in a temp data folder; stopped at the
 * end. (The test suite has its own, test/etcd/cluster.ts, leasing its ports through berth.)
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePorts } from './ports.mjs';

/** Whether `etcd` is on PATH. */
export function etcdOnPath() {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function spawnMember(m, all, state) {
  const cluster = all.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
  return spawn(
    'etcd',
    [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${cluster}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=berth-bench',
    ],
    { stdio: 'ignore' },
  );
}

async function status(port) {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: `http://127.0.0.1:${port}`, dialTimeout: 1000 });
  try {
    const s = await client.maintenance.status({ deadline: new Date(Date.now() + 1000) });
    return { leader: String(s.leader), member: String(s.header.member_id) };
  } catch {
    return null;
  } finally {
    client.close();
  }
}

async function waitReady(members) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const states = await Promise.all(members.filter((m) => m.process).map((m) => status(m.clientPort)));
    if (states.every((s) => s && s.leader !== '0')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('etcd members did not become ready in time');
}

/**
 * Starts `size` members with etcd's defaults: each is given only its name, URLs, data
 * folder and the initial cluster, nothing that tunes it;
 * `dir` holds their data.
 */
export async function startEtcd(size, dir) {
  const ports = await findFreePorts(size * 2);
  const members = Array.from({ length: size }, (_, i) => ({
    name: `b${i}`,
    clientPort: ports[i * 2],
    peerPort: ports[i * 2 + 1],
    dataDir: mkdtempSync(join(dir, `m${i}-`)),
    process: null,
  }));
  for (const m of members) m.process = spawnMember(m, members, 'new');
  await waitReady(members);
  const stop = async (m, signal = 'SIGTERM') => {
    const child = m.process;
    m.process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  return {
    members,
    url: (prefix) => `etcd://${members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')}/${prefix}`,
    stop,
    async start(m) {
      if (m.process) return;
      m.process = spawnMember(m, members, 'existing');
      await waitReady([m]);
    },
    async leader() {
      for (const m of members) {
        if (!m.process) continue;
        const s = await status(m.clientPort);
        if (s && s.leader === s.member) return m;
      }
      throw new Error('no leader');
    },
    destroy: () => Promise.all(members.map((m) => stop(m, 'SIGKILL'))),
  };
}
