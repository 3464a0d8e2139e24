import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeGetPort, getPort } from './get-port.js';
import { callEnded, callStarted, endOfSlice, SLICE_MS } from './slices.js';

const homes: string[] = [];
afterEach(async () => {
  await closeGetPort();
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin: synchronous work, as SQLite's and a bind's are
  }
}

describe('time slices', () => {
  it('a lone call never waits, even past its slice: what ran before it is not its work', async () => {
    callStarted();
    try {
      busyFor(SLICE_MS + 1);
      let ran = false;
      setImmediate(() => {
        ran = true;
      });
      await endOfSlice();
      expect(ran).toBe(false);
    } finally {
      callEnded();
    }
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('a call of a burst goes on at once within its slice, and lets the event loop turn past it', async () => {
    callStarted();
    callStarted();
    try {
      await endOfSlice(); // the slice begins
      let ran = false;
      setImmediate(() => {
        ran = true;
      });
      await endOfSlice();
      expect(ran).toBe(false);
      busyFor(SLICE_MS + 1);
      await endOfSlice();
      expect(ran).toBe(true);
    } finally {
      callEnded();
      callEnded();
    }
  });

  it('500 getPort() calls at once answer over many turns of the event loop, not in one block', async () => {
    const home = mkdtempSync(join(tmpdir(), 'berth-slices-'));
    homes.push(home);
    await getPort({ home }); // the registry exists, as on any machine that used berth once
    let turns = 0;
    let stop = false;
    const count = () => {
      turns++;
      if (!stop) setImmediate(count);
    };
    setImmediate(count);
    const turnOfAnswer = await Promise.all(
      Array.from({ length: 500 }, async () => {
        await getPort({ home });
        return turns;
      }),
    );
    stop = true;
    // Before slices every answer came in one or two turns: the caller's timers and I/O waited for all 500.
    expect(new Set(turnOfAnswer).size).toBeGreaterThanOrEqual(5);
  });
});
