import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childProcesses } from '../../../test/support/children.js';
import type { Listener } from '../../core/facts.js';
import { findPortHolders } from './holders.js';
import type { FdTable } from './sockets.js';

/** The IPv4 LISTEN sockets of /proc/net/tcp, as src/adapters/net/ reports them (a tiny stand-in). */
function ipv4Listeners(): Listener[] {
  const listeners: Listener[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [hexAddress, hexPort] = (fields[1] ?? '').split(':');
    if (fields[3] !== '0A' || hexAddress === undefined || hexPort === undefined) continue;
    // The kernel prints the address in host byte order: little-endian bytes, reversed.
    const address = (hexAddress.match(/../g) ?? [])
      .map((byte) => Number.parseInt(byte, 16))
      .reverse()
      .join('.');
    listeners.push({
      address,
      port: Number.parseInt(hexPort, 16),
      inode: Number(fields[9]),
      uid: Number(fields[7]),
    });
  }
  return listeners;
}

function fakeFds(table: Record<number, string[] | 'EACCES'>): FdTable {
  return {
    pids: () => Object.keys(table).map(Number),
    fdTargets(pid) {
      const entry = table[pid];
      if (entry === 'EACCES') throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      return entry ?? [];
    },
  };
}

const listener = (port: number, inode: number, uid: number, address = '0.0.0.0'): Listener => ({
  address,
  port,
  inode,
  uid,
});

describe.runIf(process.platform === 'linux')('findPortHolders on Linux', () => {
  const children = childProcesses();

  it('finds the real process listening on a port, with its command line and address', async () => {
    const { child, port } = await children.listener();

    const { holders, hidden } = await findPortHolders(port, ipv4Listeners());
    expect(hidden).toEqual([]);
    expect(holders).toHaveLength(1);
    expect(holders[0]).toMatchObject({ pid: child.pid, uid: process.getuid?.(), address: '127.0.0.1' });
    expect(holders[0]?.command).toContain('node');
  });

  it('lists every process on a shared socket', async () => {
    const fds = fakeFds({ [process.pid]: ['socket:[555]'], [process.ppid]: ['socket:[555]'] });
    const { holders } = await findPortHolders(3000, [listener(3000, 555, 0)], { fds });
    expect(holders.map(({ pid }) => pid).sort()).toEqual([process.pid, process.ppid].sort());
  });

  it("reports a socket of another uid that no visible process holds as another user's", async () => {
    const fds = fakeFds({ 100: ['socket:[1]'] });
    const result = await findPortHolders(3000, [listener(3000, 555, 1001), listener(4000, 556, 1001)], {
      fds,
      uid: 1000,
    });
    expect(result).toEqual({
      port: 3000,
      holders: [],
      hidden: [{ address: '0.0.0.0', uid: 1001, reason: 'other-user' }],
    });
  });

  it("reports a socket as another user's when some fd tables were closed to us", async () => {
    const fds = fakeFds({ 100: 'EACCES' });
    const { hidden } = await findPortHolders(3000, [listener(3000, 555, 1000, '::1')], { fds, uid: 1000 });
    expect(hidden).toEqual([{ address: '::1', uid: 1000, reason: 'other-user' }]);
  });

  it('reports an own-uid socket with no visible holder as unknown, never as free', async () => {
    const { holders, hidden } = await findPortHolders(3000, [listener(3000, 555, 1000)], {
      fds: fakeFds({}),
      uid: 1000,
    });
    expect(holders).toEqual([]);
    expect(hidden).toEqual([{ address: '0.0.0.0', uid: 1000, reason: 'unknown' }]);
  });

  it('returns empty lists when nothing listens on the port', async () => {
    expect(await findPortHolders(3000, [listener(4000, 555, 1000)], { fds: fakeFds({}) })).toEqual({
      port: 3000,
      holders: [],
      hidden: [],
    });
  });
});

describe('findPortHolders without a kernel table (off Linux)', () => {
  it('asks lsof / netstat and reports what they name', async () => {
    const lsof = 'p4242\ncnode\nu501\nLada\nf23\nn*:3000\n';
    const run = async () => ({ state: 'ran' as const, exitCode: 0, stdout: lsof });
    const result = await findPortHolders(3000, null, { command: { platform: 'darwin', run } });
    expect(result).toEqual({
      port: 3000,
      holders: [{ pid: 4242, user: 'ada', uid: 501, command: 'node', startedAt: null, address: '*' }],
      hidden: [],
    });
  });
});
