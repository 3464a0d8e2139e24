import { describe, expect, it } from 'vitest';
import { stopOrder } from '../../compose/free-port.js';
import type { PortHolder } from '../../core/facts.js';
import { outcomeMessage } from './free.js';

const holder = (pid: number, address = '0.0.0.0'): PortHolder => ({
  pid,
  user: 'ada',
  uid: 1000,
  command: `node worker-${pid}.js`,
  startedAt: null,
  address,
});

describe('stopOrder', () => {
  it('stops each pid once, parents before their children', () => {
    const parents = new Map([
      [30, 20],
      [20, 10],
      [10, 1],
      [5, 1],
    ]);
    const order = stopOrder(
      [holder(30), holder(20, '::'), holder(20), holder(5), holder(10)],
      (pid) => parents.get(pid) ?? null,
    );
    expect(order.map((h) => h.pid)).toEqual([5, 10, 20, 30]);
  });
});

describe('outcomeMessage', () => {
  const h = { pid: 42, command: 'node server.js' };
  it('says what happened, and how to go further when the process survived', () => {
    expect(outcomeMessage(h, 'stopped', 3000, 3000, false)).toBe(
      'stopped pid 42 (node server.js) with SIGTERM',
    );
    expect(outcomeMessage(h, 'killed', 3000, 500, true)).toBe(
      'pid 42 (node server.js) ignored SIGTERM for 0.5s; killed it with SIGKILL',
    );
    expect(outcomeMessage(h, 'survived', 3000, 3000, false)).toBe(
      'pid 42 (node server.js) is still running 3s after SIGTERM. Use --force to send SIGKILL after the grace period.',
    );
    expect(outcomeMessage({ pid: 42, command: null }, 'gone', 3000, 3000, false)).toBe(
      'pid 42 no longer holds port 3000; nothing was signalled',
    );
  });
});
