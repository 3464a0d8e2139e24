/**
 * What a signalled command leaves running, on the fake machine: noted when the
 * signal is forwarded, stopped once the command exited, never a process that
 * reused the pid or one that exits on its own within the grace.
 */
import { describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import { stopLeftovers, treeBelow } from './leftovers.js';

/** npm (100) -> sh (101) -> vite (102), and a stranger (200). */
function machine(): FakeMachine {
  const m = new FakeMachine();
  m.spawn({ pid: 100, command: 'npm run dev' });
  m.spawn({ pid: 101, command: 'sh -c vite', ppid: 100 });
  m.spawn({ pid: 102, command: 'node vite', ppid: 101 });
  m.spawn({ pid: 200, command: 'someone else' });
  return m;
}

/** Sleeps on the machine's clock, letting the test act at each step. */
function clockSleep(m: FakeMachine, each: () => void = () => {}) {
  return async (ms: number) => {
    m.clock += ms;
    each();
  };
}

describe('leftovers of a signalled command', () => {
  it('notes the tree below the command, and stops what is left of it once the grace is over', async () => {
    const m = machine();
    const adapters = m.adapters();
    const tree = treeBelow(adapters, 100);
    expect(tree.map((p) => p.pid).sort()).toEqual([101, 102]);
    // npm exits and sh with it; vite, orphaned, stays.
    m.processes.delete(100);
    m.processes.delete(101);
    m.processes.set(102, { pid: 102, command: 'node vite', ppid: 1 });
    const start = m.clock;
    const left = await stopLeftovers(adapters, tree, { sleep: clockSleep(m) });
    expect(left.map((p) => p.pid)).toEqual([102]);
    expect(m.stopped).toEqual([102]);
    expect(m.clock - start).toBeGreaterThanOrEqual(2_000);
  });

  it('stops nothing when the tree exits on its own within the grace (a Ctrl-C reached it too)', async () => {
    const m = machine();
    const adapters = m.adapters();
    const tree = treeBelow(adapters, 100);
    m.processes.delete(100);
    let step = 0;
    const left = await stopLeftovers(adapters, tree, {
      sleep: clockSleep(m, () => {
        if (++step === 5) {
          m.processes.delete(101);
          m.processes.delete(102);
        }
      }),
    });
    expect(left).toEqual([]);
    expect(m.stopped).toEqual([]);
    expect(step).toBe(5);
  });

  it('never stops a process that reused a pid of the tree, and leaves one it may not signal', async () => {
    const m = machine();
    const adapters = m.adapters();
    const tree = [
      { pid: 101, startTime: 'an older start' },
      { pid: 102, startTime: 't102' },
    ];
    m.refused.add(102);
    expect(await stopLeftovers(adapters, tree, { sleep: clockSleep(m), graceMs: 0 })).toEqual([]);
    expect(m.stopped).toEqual([]);
  });

  it('is empty where the process tree cannot list children', () => {
    const m = machine();
    const adapters = { ...m.adapters(), tree: { parentOf: () => null } };
    expect(treeBelow(adapters, 100)).toEqual([]);
  });
});
