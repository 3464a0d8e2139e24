import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeGetPort, getPort } from './get-port.js';
import { endOfSlice, SLICE_MS, startSlice } from './slices.js';

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
  it('a call within its slice goes on at once: work queued on the event loop waits', async () => {
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    startSlice();
    await endOfSlice();
    expect(ran).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('a call past its slice lets the event loop turn first', async () => {
    startSlice();
    busyFor(SLICE_MS + 1);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await endOfSlice();
    expect(ran).toBe(true);
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
