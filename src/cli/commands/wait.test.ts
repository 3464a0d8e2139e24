import { describe, expect, it } from 'vitest';
import { painter } from '../style.js';
import { progressLine, redraw, type Watch } from './wait.js';

const plain = painter(false);
const watch = (over: Partial<Watch>): Watch => ({
  service: 'server',
  port: 3000,
  status: 'waiting',
  reason: null,
  latencyMs: null,
  waitedMs: 2100,
  ...over,
});

describe('progressLine', () => {
  it('says "not running" while nothing listens, and still when time ran out with nothing listening', () => {
    expect(progressLine(watch({ reason: 'not running' }), 0, 6, plain, 120)).toBe(
      '⠋ server   3000  waiting 2.1s: not running',
    );
    expect(
      progressLine(
        watch({ status: 'not-running', reason: 'not running', waitedMs: 60_000 }),
        0,
        6,
        plain,
        120,
      ),
    ).toBe('✖ server   3000  still not running after 60.0s');
  });

  it('shows a spinner, the elapsed time and the last reason while waiting', () => {
    expect(progressLine(watch({ reason: 'connection refused on 127.0.0.1 and ::1' }), 0, 8, plain, 120)).toBe(
      '⠋ server     3000  waiting 2.1s: connection refused on 127.0.0.1 and ::1',
    );
    expect(progressLine(watch({}), 1, 6, plain, 120)).toBe('⠙ server   3000  waiting 2.1s');
  });

  it('shows how long it took once healthy, and why not when it gave up', () => {
    expect(progressLine(watch({ status: 'healthy', latencyMs: 3, waitedMs: 1200 }), 5, 6, plain, 120)).toBe(
      '✔ server   3000  healthy after 1.2s (3 ms)',
    );
    expect(
      progressLine(
        watch({ status: 'unhealthy', reason: 'GET / answered 503', waitedMs: 60_000 }),
        0,
        6,
        plain,
        120,
      ),
    ).toBe('✖ server   3000  not healthy after 60.0s: GET / answered 503');
  });

  it('never wraps: a long line is cut to the terminal width', () => {
    const line = progressLine(watch({ reason: 'x'.repeat(200) }), 0, 6, plain, 40);
    expect(line.length).toBeLessThan(40);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('redraw', () => {
  it('moves the cursor up over the previous block and clears each line before rewriting it', () => {
    expect(redraw(['a', 'b'])).toBe('\u001b[2A\r\u001b[2Ka\n\r\u001b[2Kb');
  });
});
