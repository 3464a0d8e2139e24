/**
 * etcd members for the etcd suite (`npm run test:etcd`): started from the `etcd`
 * binary on PATH with etcd's defaults (names, URLs, data folders and the initial
 * cluster only: a test that waits for an election waits as users' would), on loopback
 * ports leased through berth's SQLite registry (reserveBlock), each in a temp data
 * folder; stopped, killed and restarted by the tests, and all removed at the end.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reserveBlock } from '../helpers.js';

/** Whether an `etcd` binary is on PATH. */
export function etcdAvailable(): boolean {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One member. */
export interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  process: ChildProcess | null;
}

/** A running cluster. */
export interface Cluster {
  members: Member[];
  /** `etcd://127.0.0.1:a,127.0.0.1:b,...` with the given key prefix. */
  url(prefix?: string): string;
  endpoints: string[];
  /** Stops a member: SIGTERM (or SIGKILL), waits for its exit. */
  stop(member: Member, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped member again, with its data. */
  start(member: Member): Promise<void>;
  /** The member that leads now. */
  leader(): Promise<Member>;
  /** Stops every member and removes their data. */
  destroy(): Promise<void>;
}

function spawnMember(member: Member, all: Member[], state: 'new' | 'existing'): ChildProcess {
  const cluster = all.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const child = spawn(
    'etcd',
    [
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${member.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${member.peerPort}`,
      `--initial-cluster=${cluster}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=berth-test',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null && process.env.BERTH_TEST_ETCD_LOG) process.stderr.write(log);
  });
  return child;
}

async function status(port: number): Promise<{ leader: string; member: string } | null> {
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

/** Waits until every running member answers and one leads. */
async function waitReady(members: Member[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const running = members.filter((m) => m.process !== null);
    const states = await Promise.all(running.map((m) => status(m.clientPort)));
    if (states.every((s) => s !== null && s.leader !== '0')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('etcd members did not become ready in time');
}

/**
 * Starts `size` members (1 or 3) on leased loopback ports.
 *
 * @example
 * const cluster = await startCluster(3);
 * process.env.BERTH_REGISTRY = cluster.url('t1');
 */
export async function startCluster(size: number): Promise<Cluster> {
  const ports = await reserveBlock(size * 2);
  const members: Member[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientPort: ports[i * 2]!,
    peerPort: ports[i * 2 + 1]!,
    dataDir: mkdtempSync(join(tmpdir(), `berth-etcd-m${i}-`)),
    process: null,
  }));
  for (const m of members) m.process = spawnMember(m, members, 'new');
  await waitReady(members);
  const endpoints = members.map((m) => `127.0.0.1:${m.clientPort}`);
  const stop = async (member: Member, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = member.process;
    member.process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  return {
    members,
    endpoints,
    url: (prefix = 'berth') => `etcd://${endpoints.join(',')}/${prefix}`,
    stop,
    async start(member) {
      if (member.process) return;
      member.process = spawnMember(member, members, 'existing');
      await waitReady(members.filter((m) => m === member));
    },
    async leader() {
      for (const m of members) {
        if (!m.process) continue;
        const s = await status(m.clientPort);
        if (s && s.leader === s.member) return m;
      }
      throw new Error('no etcd member leads');
    },
    async destroy() {
      await Promise.all(members.map((m) => stop(m, 'SIGKILL')));
      for (const m of members) rmSync(m.dataDir, { recursive: true, force: true });
    },
  };
}
