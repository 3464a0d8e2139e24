import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readProcStat, readStartTime } from './stat.js';
import { createProcessTable, PINNED_MAX } from './table.js';

const children: ChildProcess[] = [];

/** A node child that prints `ready` and then idles until killed. */
async function spawnIdleChild(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000);"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await once(createInterface({ input: child.stdout! }), 'line');
  if (child.pid === undefined) throw new Error('child has no pid');
  return child as ChildProcess & { pid: number };
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

function systemError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('createProcessTable', () => {
  it('reports the current process as alive, and caches it', () => {
    const table = createProcessTable();
    const self = table.self();
    expect(self.pid).toBe(process.pid);
    expect(table.self()).toBe(self);
    expect(table.isAlive(self)).toBe(true);
  });

  it('never treats 0 or a negative pid (process groups) as a live owner', () => {
    const table = createProcessTable();
    expect(table.isAlive({ pid: 0, startTime: null })).toBe(false);
    expect(table.isAlive({ pid: -1, startTime: null })).toBe(false);
    expect(table.owner(0)).toBeNull();
  });

  it('counts a process of another user (EPERM) as alive', () => {
    vi.spyOn(process, 'kill').mockImplementation(() => {
      throw systemError('EPERM');
    });
    const table = createProcessTable();
    expect(table.isAlive({ pid: process.pid, startTime: null })).toBe(true);
  });

  it('counts ESRCH as dead without reading further', () => {
    vi.spyOn(process, 'kill').mockImplementation(() => {
      throw systemError('ESRCH');
    });
    expect(createProcessTable().isAlive({ pid: process.pid, startTime: null })).toBe(false);
  });

  it('rethrows errors other than ESRCH and EPERM', () => {
    vi.spyOn(process, 'kill').mockImplementation(() => {
      throw systemError('EINVAL');
    });
    expect(() => createProcessTable().isAlive({ pid: process.pid, startTime: null })).toThrow('EINVAL');
  });
});

describe.runIf(process.platform === 'linux')('createProcessTable with a real child (Linux)', () => {
  it('reads an owner with its start time, alive while it runs and dead after SIGKILL', async () => {
    const child = await spawnIdleChild();
    const table = createProcessTable();
    const owner = table.owner(child.pid);
    expect(owner).toEqual({ pid: child.pid, startTime: readStartTime(child.pid) });
    expect(owner?.startTime).toMatch(/^\d+$/);
    expect(table.isAlive(owner!)).toBe(true);

    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(table.isAlive(owner!)).toBe(false);
    expect(table.owner(child.pid)).toBeNull();
  });

  it('does not take a reused pid (same pid, other start time) for the owner', async () => {
    const child = await spawnIdleChild();
    const table = createProcessTable();
    const startTime = readStartTime(child.pid)!;
    const earlierProcess = { pid: child.pid, startTime: String(Number(startTime) - 1) };
    expect(table.isAlive(earlierProcess)).toBe(false);
    expect(table.isAlive({ pid: child.pid, startTime })).toBe(true);
  });

  it('trusts the pid alone when the stored start time is unknown', async () => {
    const child = await spawnIdleChild();
    expect(createProcessTable().isAlive({ pid: child.pid, startTime: null })).toBe(true);
  });

  it('keeps the stat file of an owner found alive open, and answers from it: a zombie at once, then gone', async () => {
    // A node parent runs `sleep`, and on a file's appearance SIGKILLs it and blocks its own
    // event loop, so the child stays a zombie (libuv reaps only from the loop) until a second file.
    const dir = mkdtempSync(join(tmpdir(), 'berth-pinned-'));
    const kill = join(dir, 'kill');
    const reap = join(dir, 'reap');
    const script = `const c = require('node:child_process').spawn('sleep', ['60']);
      const fs = require('node:fs');
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const state = () => { try { return fs.readFileSync('/proc/' + c.pid + '/stat', 'utf8').split(') ')[1][0]; } catch { return ''; } };
      c.on('spawn', () => {
        console.log(c.pid);
        while (!fs.existsSync(${JSON.stringify(kill)})) Atomics.wait(pause, 0, 0, 5);
        process.kill(c.pid, 'SIGKILL');
        while (state() !== 'Z') Atomics.wait(pause, 0, 0, 5);
        console.log('Z');
        while (!fs.existsSync(${JSON.stringify(reap)})) Atomics.wait(pause, 0, 0, 5);
      });
      c.on('exit', () => { console.log('reaped'); process.exit(0); });`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(parent);
    const lines = createInterface({ input: parent.stdout! })[Symbol.asyncIterator]();
    const pid = Number((await lines.next()).value);
    const statFile = `/proc/${pid}/stat`;
    const pinned = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === statFile;
        } catch {
          return false;
        }
      }).length;
    const table = createProcessTable();
    const owner = { pid, startTime: readStartTime(pid) };
    try {
      expect(table.isAlive(owner)).toBe(true);
      expect(pinned()).toBe(1);
      expect(table.isAlive(owner)).toBe(true);
      expect(pinned()).toBe(1);
      writeFileSync(kill, '');
      expect((await lines.next()).value).toBe('Z');
      expect(table.isAlive(owner)).toBe(false);
      expect(pinned()).toBe(0);
      // Asked again while still a zombie, and once reaped: dead both times, nothing left open.
      expect(table.isAlive(owner)).toBe(false);
      writeFileSync(reap, '');
      expect((await lines.next()).value).toBe('reaped');
      expect(table.isAlive(owner)).toBe(false);
      expect(pinned()).toBe(0);
    } finally {
      if (!existsSync(kill)) writeFileSync(kill, '');
      if (!existsSync(reap)) writeFileSync(reap, '');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`keeps at most ${PINNED_MAX} stat files open in the process, and answers every owner right`, async () => {
    const sleepers = Array.from({ length: PINNED_MAX + 3 }, () => spawn('sleep', ['60']));
    children.push(...sleepers);
    await Promise.all(sleepers.map((c) => once(c, 'spawn')));
    const owners = sleepers.map((c) => ({ pid: c.pid!, startTime: readStartTime(c.pid!) }));
    const table = createProcessTable();
    // A second table shares the process's set.
    expect(createProcessTable().isAlive(owners[0]!)).toBe(true);
    const openStats = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return /^\/proc\/\d+\/stat$/.test(readlinkSync(`/proc/self/fd/${fd}`));
        } catch {
          return false;
        }
      }).length;
    for (const owner of owners) expect(table.isAlive(owner)).toBe(true);
    // One set for the process: the files pinned by earlier tables were closed first.
    expect(openStats()).toBe(PINNED_MAX);
    for (const owner of owners) expect(table.isAlive(owner)).toBe(true);
    expect(openStats()).toBe(PINNED_MAX);
    // One whose file is kept dies, and is reaped (node reaps its children): its kept file says ESRCH.
    const last = sleepers.at(-1)!;
    const isKept = () =>
      readdirSync('/proc/self/fd').some((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === `/proc/${last.pid}/stat`;
        } catch {
          return false;
        }
      });
    expect(isKept()).toBe(true);
    last.kill('SIGKILL');
    await once(last, 'exit');
    expect(table.isAlive(owners.at(-1)!)).toBe(false);
    expect(isKept()).toBe(false);
    for (const owner of owners.slice(0, -1)) expect(table.isAlive(owner)).toBe(true);
    expect(openStats()).toBe(PINNED_MAX);
  });

  it('counts a zombie (exited, not yet reaped by its parent) as dead', async () => {
    // A node parent starts `true` and blocks its own event loop (libuv reaps only from
    // the loop), so the child stays a zombie; it prints the pid once the kernel shows Z.
    const script = `const c = require('node:child_process').spawn('true');
      const pause = new Int32Array(new SharedArrayBuffer(4));
      const state = () => { try { return require('node:fs').readFileSync('/proc/' + c.pid + '/stat', 'utf8').split(') ')[1][0]; } catch { return ''; } };
      while (state() !== 'Z') Atomics.wait(pause, 0, 0, 5);
      console.log(c.pid);
      Atomics.wait(pause, 0, 0, 60000);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(parent);
    const [line] = (await once(createInterface({ input: parent.stdout! }), 'line')) as [string];
    const zombie = Number(line);
    expect(readProcStat(zombie)?.state).toBe('Z');
    const startTime = readStartTime(zombie);
    expect(createProcessTable().isAlive({ pid: zombie, startTime })).toBe(false);
    expect(createProcessTable().owner(zombie)).toBeNull();
  });
});
