import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { childProcesses } from '../../../test/support/children.js';
import { type FdTable, parseSocketLink, procFdTable, socketOwners } from './sockets.js';

function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: fake`), { code });
}

/** An fd table from plain data; a string entry is the errno its fd dir read throws. */
function fakeFds(table: Record<number, string[] | string>): FdTable {
  return {
    pids: () => Object.keys(table).map(Number),
    fdTargets(pid) {
      const entry = table[pid];
      if (entry === undefined) throw systemError('ENOENT');
      if (typeof entry === 'string') throw systemError(entry);
      return entry;
    },
  };
}

describe('parseSocketLink', () => {
  it('reads the inode of a socket link and ignores every other target', () => {
    expect(parseSocketLink('socket:[183742]')).toBe(183742);
    expect(parseSocketLink('pipe:[183742]')).toBeNull();
    expect(parseSocketLink('anon_inode:[eventpoll]')).toBeNull();
    expect(parseSocketLink('/dev/null')).toBeNull();
  });
});

describe('socketOwners', () => {
  it('maps each wanted inode to every pid that holds it (a server that forked after listen)', () => {
    const fds = fakeFds({
      100: ['/dev/null', 'socket:[555]', 'socket:[777]'],
      101: ['socket:[555]', 'pipe:[9]'],
      102: ['socket:[555]', 'socket:[555]'],
      103: ['socket:[999]'],
    });
    const { owners, unreadable } = socketOwners(new Set([555, 777]), fds);
    expect(owners).toEqual(
      new Map([
        [555, [100, 101, 102]],
        [777, [100]],
      ]),
    );
    expect(unreadable).toEqual([]);
  });

  it("reports processes whose fds are closed to us (another user's) instead of skipping them silently", () => {
    const fds = fakeFds({ 100: ['socket:[1]'], 200: 'EACCES', 300: 'EPERM' });
    const { owners, unreadable } = socketOwners(new Set([42]), fds);
    expect(owners.size).toBe(0);
    expect(unreadable).toEqual([200, 300]);
  });

  it('skips processes that exit during the scan', () => {
    const fds = fakeFds({ 100: 'ENOENT', 101: 'ESRCH', 102: ['socket:[42]'] });
    expect(socketOwners(new Set([42]), fds)).toEqual({ owners: new Map([[42, [102]]]), unreadable: [] });
  });

  it('rethrows any other error', () => {
    expect(() => socketOwners(new Set([42]), fakeFds({ 100: 'EMFILE' }))).toThrow('EMFILE');
  });

  it('does not scan at all when no inode is wanted', () => {
    const fds: FdTable = {
      pids: () => {
        throw new Error('scanned');
      },
      fdTargets: () => [],
    };
    expect(socketOwners(new Set(), fds)).toEqual({ owners: new Map(), unreadable: [] });
  });
});

describe('procFdTable', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it('lists numeric entries as pids and reads fd links', () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-proc-'));
    roots.push(root);
    mkdirSync(join(root, '4242/fd'), { recursive: true });
    mkdirSync(join(root, 'self'));
    mkdirSync(join(root, 'sys'));
    symlinkSync('socket:[555]', join(root, '4242/fd/3'));
    symlinkSync('/dev/null', join(root, '4242/fd/0'));
    const fds = procFdTable(root);
    expect(fds.pids()).toEqual([4242]);
    expect(fds.fdTargets(4242).sort()).toEqual(['/dev/null', 'socket:[555]']);
    expect(socketOwners(new Set([555]), fds).owners.get(555)).toEqual([4242]);
  });

  it('is empty where there is no /proc (off Linux)', () => {
    expect(procFdTable(join(tmpdir(), 'berth-no-such-proc')).pids()).toEqual([]);
  });
});

/** The inode of the socket listening on 127.0.0.1:`port`, from /proc/net/tcp (state 0A = LISTEN). */
function listenInode(port: number): number {
  const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === wanted && fields[3] === '0A') return Number(fields[9]);
  }
  throw new Error(`no listener on 127.0.0.1:${port} in /proc/net/tcp`);
}

describe.runIf(process.platform === 'linux')('socketOwners against a real listener (Linux)', () => {
  const children = childProcesses();

  it('finds the child that listens, by its socket inode', async () => {
    const { child, port } = await children.listener();
    const inode = listenInode(port);

    const { owners } = socketOwners(new Set([inode]));
    expect(owners.get(inode)).toEqual([child.pid]);
  });
});
