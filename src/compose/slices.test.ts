import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeGetPort, getPort } from './get-port.js';
import { burstWorkBegins, callEnded, callStarted, endOfSlice, SLICE_MS, sliceWait } from './slices.js';

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

  it('calls answered at once run their steps in slices: each checks right before its step, so the steps before it count', async () => {
    const calls = 40;
    const stepMs = SLICE_MS / 4;
    for (let i = 0; i < calls; i++) callStarted();
    try {
      let turned = false;
      let beforeTurn = 0;
      let answer: () => void = () => {};
      const answered = new Promise<void>((resolve) => {
        answer = resolve;
      });
      const done = Array.from({ length: calls }, async () => {
        await answered; // one batch answers them all in one wave of the microtask queue
        const wait = sliceWait();
        if (wait) await wait;
        busyFor(stepMs); // a probe: synchronous work
        if (!turned) beforeTurn++;
      });
      setImmediate(() => {
        turned = true;
      });
      answer();
      await Promise.all(done);
      // One slice's worth before the loop turns (one step may start just inside it), not all 40.
      expect(beforeTurn).toBeGreaterThanOrEqual(1);
      expect(beforeTurn).toBeLessThanOrEqual(SLICE_MS / stepMs + 1);
    } finally {
      for (let i = 0; i < calls; i++) callEnded();
    }
  });

  it("a burst's batch counts toward the slice of the probes it answers; a lone call's work does not", async () => {
    await new Promise((resolve) => setImmediate(resolve)); // the slices of the tests before have ended
    callStarted();
    try {
      burstWorkBegins(); // lone: starts nothing
      busyFor(SLICE_MS + 1);
      callStarted();
      try {
        expect(sliceWait()).toBeUndefined(); // the loop has not turned, but no slice ran: one starts now
        await new Promise((resolve) => setImmediate(resolve));
        burstWorkBegins(); // the batch of a burst, after a turn
        busyFor(SLICE_MS + 1);
        const wait = sliceWait();
        expect(wait).toBeInstanceOf(Promise);
        await wait;
      } finally {
        callEnded();
      }
    } finally {
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
