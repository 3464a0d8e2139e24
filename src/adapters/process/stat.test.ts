import { describe, expect, it } from 'vitest';
import { createProcessTree, descendants, isPid, parseProcStat, readProcStat, readStartTime } from './stat.js';

// Real lines from Linux 6.x, fields after starttime trimmed where irrelevant.
const NODE_STAT =
  '4055 (node) S 4048 4048 2886 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 41569 2998272 395 18446744073709551615 0 0 0 0 0';
const ODD_COMM_STAT =
  '77 (tmux: serv) er) (x) R 1 77 77 0 -1 4194560 5 0 0 0 1 2 0 0 20 0 1 0 123456789 1 2 3';

describe('parseProcStat', () => {
  it('reads pid, comm, state, ppid and the start time (field 22)', () => {
    expect(parseProcStat(NODE_STAT)).toEqual({
      pid: 4055,
      comm: 'node',
      state: 'S',
      ppid: 4048,
      startTicks: '41569',
    });
  });

  it('splits at the last `)` so a comm with spaces and parentheses stays whole', () => {
    expect(parseProcStat(ODD_COMM_STAT)).toEqual({
      pid: 77,
      comm: 'tmux: serv) er) (x',
      state: 'R',
      ppid: 1,
      startTicks: '123456789',
    });
  });

  it('accepts a trailing newline as the kernel writes it', () => {
    expect(parseProcStat(`${NODE_STAT}\n`)?.startTicks).toBe('41569');
  });

  it('keeps the start time as exact text, beyond the safe integer range', () => {
    const huge = NODE_STAT.replace(' 41569 ', ' 123456789012345678901 ');
    expect(parseProcStat(huge)?.startTicks).toBe('123456789012345678901');
  });

  it.each([
    ['empty text', ''],
    ['no parentheses', '4055 node S 4048'],
    ['a truncated line', '4055 (node) S 4048 4048 2886'],
    ['a non-numeric pid', 'abc (node) S 4048 4048 2886 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 41569'],
    ['a non-numeric start time', NODE_STAT.replace(' 41569 ', ' x ')],
  ])('returns null for %s', (_name, text) => {
    expect(parseProcStat(text)).toBeNull();
  });
});

describe('isPid', () => {
  it('accepts positive integers only (0 and negatives address process groups)', () => {
    expect([1, 4242].map(isPid)).toEqual([true, true]);
    expect([0, -1, -4242, 1.5, Number.NaN].map(isPid)).toEqual([false, false, false, false, false]);
  });
});

describe.runIf(process.platform === 'linux')('readProcStat on Linux', () => {
  it('reads the current process', () => {
    const stat = readProcStat(process.pid);
    expect(stat?.pid).toBe(process.pid);
    expect(stat?.ppid).toBe(process.ppid);
    expect(stat?.startTicks).toMatch(/^\d+$/);
  });

  it('gives the same start time on every read', () => {
    expect(readStartTime(process.pid)).toBe(readProcStat(process.pid)?.startTicks);
  });

  it('returns null for a pid that does not exist and for non-pids', () => {
    // Above the kernel's pid_max (at most 2^22), so it can never exist.
    expect(readStartTime(2 ** 23)).toBeNull();
    expect(readStartTime(0)).toBeNull();
    expect(readStartTime(-1)).toBeNull();
  });
});

describe('descendants', () => {
  it('walks the parent pids down from the root, grandchildren included, nothing beside it', () => {
    const parents = new Map([
      [10, 1],
      [11, 10],
      [12, 11],
      [13, 10],
      [20, 1],
      [21, 20],
    ]);
    expect(descendants(10, [...parents.keys()], (pid) => parents.get(pid) ?? null).sort()).toEqual([
      10, 11, 12, 13,
    ]);
  });
});

describe.runIf(process.platform === 'linux')('createProcessTree().below on this machine', () => {
  it('lists a child and its grandchild, not the root', async () => {
    const { spawn } = await import('node:child_process');
    // sh keeps running (it waits for its sleep), so the tree is sh -> sleep.
    const child = spawn('sh', ['-c', 'sleep 30; true'], { stdio: 'ignore', detached: true });
    try {
      const tree = createProcessTree();
      let below: number[] = [];
      for (let i = 0; i < 100 && below.length < 2; i++) {
        below = tree.below!(process.pid).filter(
          (pid) => pid === child.pid || tree.parentOf(pid) === child.pid,
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(below).toContain(child.pid);
      expect(below).toHaveLength(2);
      expect(tree.below!(process.pid)).not.toContain(process.pid);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  });
});
