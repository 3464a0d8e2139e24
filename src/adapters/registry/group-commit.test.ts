import { describe, expect, it } from 'vitest';
import {
  BATCH_BUDGET_MS,
  BATCH_WALL_LIMIT_MS,
  type BatchBackend,
  GroupCommit,
  type JobOutcome,
  workTimerOn,
} from './group-commit.js';

/** A backend that records batches; `tx` is the batch number. */
function recordingBackend(options: { commitFails?: boolean; clock?: { now: number; perJob: number } } = {}) {
  const batches: number[][] = [];
  let held = false;
  let turns = 0;
  const backend: BatchBackend<number> = {
    acquire: async () => {
      expect(held).toBe(false);
      held = true;
      turns++;
      return () => {
        held = false;
      };
    },
    run: (fns, more) => {
      const ids: number[] = [];
      const outcomes: JobOutcome[] = [];
      for (const fn of fns) {
        if (outcomes.length > 0 && !more()) break;
        try {
          outcomes.push({ ok: true, value: fn(batches.length) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
        ids.push(outcomes.length);
        if (options.clock) options.clock.now += options.clock.perJob;
      }
      batches.push(ids);
      if (options.commitFails) throw new Error('disk full');
      return outcomes;
    },
  };
  return { backend, batches, turns: () => turns };
}

describe('GroupCommit', () => {
  it('runs the requests of one turn of the caller in one batch, one lock turn', async () => {
    const { backend, batches, turns } = recordingBackend();
    // A clock that never moves: the time budget cannot split the batch on a loaded machine.
    const group = new GroupCommit(backend, () => () => 0);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => group.submit((tx) => [tx, i])));
    expect(batches).toHaveLength(1);
    expect(turns()).toBe(1);
    expect(results.map(([, i]) => i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(results.map(([tx]) => tx))).toEqual(new Set([0]));
  });

  it('a request that throws fails alone; the others of its batch succeed', async () => {
    const { backend, batches } = recordingBackend();
    const group = new GroupCommit(backend, () => () => 0);
    const outcomes = await Promise.allSettled([
      group.submit(() => 'a'),
      group.submit(() => {
        throw new Error('E_PORT_HELD');
      }),
      group.submit(() => 'c'),
    ]);
    expect(batches).toHaveLength(1);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('E_PORT_HELD');
  });

  it('requests arriving while a batch waits for the lock join the next batch', async () => {
    const { backend, batches } = recordingBackend();
    const group = new GroupCommit(backend);
    const first = group.submit(() => 1);
    await Promise.resolve();
    await Promise.resolve();
    const later = Promise.all([group.submit(() => 2), group.submit(() => 3)]);
    expect(await first).toBe(1);
    expect(await later).toEqual([2, 3]);
    expect(batches.flat()).toHaveLength(3);
  });

  it('splits a batch that would keep the event loop past the budget, keeping the order', async () => {
    const clock = { now: 0, perJob: BATCH_BUDGET_MS / 4 };
    const { backend, batches } = recordingBackend({ clock });
    const group = new GroupCommit(backend, () => {
      const start = clock.now;
      return () => clock.now - start;
    });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => group.submit(() => order.push(i))));
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(4);
  });

  /**
   * The sizes of the batches that run `count` requests submitted at once, the first of
   * which takes `ms` of wall time without using the CPU, as a holder the OS put aside
   * does. On clocks of the test's own: the process's CPU time also counts its other
   * threads (GC, the compiler) on Node 20 and 22, which a real sleep would meet.
   */
  async function batchesWhenFirstSleeps(ms: number, count: number): Promise<number[]> {
    const { backend, batches } = recordingBackend();
    const clocks = { wall: 0, cpu: 0 };
    const group = new GroupCommit(backend, workTimerOn({ wall: () => clocks.wall, cpu: () => clocks.cpu }));
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        group.submit(() => {
          if (i === 0) clocks.wall += ms;
          else {
            clocks.wall += 0.01;
            clocks.cpu += 0.01;
          }
          return i;
        }),
      ),
    );
    return batches.map((b) => b.length);
  }

  it('counts no more than the CPU time used: a request that sleeps past the budget does not split its batch', async () => {
    expect(await batchesWhenFirstSleeps(BATCH_BUDGET_MS * 3, 10)).toEqual([10]);
  });

  it('still ends a batch after BATCH_WALL_LIMIT_MS of wall time, however little CPU it used', async () => {
    expect(await batchesWhenFirstSleeps(BATCH_WALL_LIMIT_MS + 5, 3)).toEqual([1, 2]);
  });

  it('a failed commit fails every request of the batch, and a failed lock wait every waiting one', async () => {
    const failing = new GroupCommit(recordingBackend({ commitFails: true }).backend);
    const settled = await Promise.allSettled([failing.submit(() => 1), failing.submit(() => 2)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);

    const locked = new GroupCommit<number>({
      acquire: () => Promise.reject(new Error('E_REGISTRY_LOCKED')),
      run: () => [],
    });
    await expect(Promise.all([locked.submit(() => 1), locked.submit(() => 2)])).rejects.toThrow(
      'E_REGISTRY_LOCKED',
    );
    // The group recovers: a later request tries the lock again.
    expect(locked.waiting).toBe(0);
  });
  it('requests that all have an answer without the lock when the wait wakes resolve with it and never run', async () => {
    const ran: number[] = [];
    let withdraw: (() => boolean) | undefined;
    let release: (value: (() => void) | null) => void = () => {};
    const backend: BatchBackend<number> = {
      acquire: (w) => {
        withdraw = w;
        return new Promise((resolve) => {
          release = resolve;
        });
      },
      run: (fns) => fns.map((fn) => ({ ok: true, value: fn(0) })),
    };
    const group = new GroupCommit(backend, () => () => 0);
    let answer: string | undefined;
    const calls = [1, 2].map((i) =>
      group.submit(
        () => {
          ran.push(i);
          return 'ran';
        },
        true,
        () => answer,
      ),
    );
    await Promise.resolve();
    await Promise.resolve();
    // Asked while waiting: no answer yet, so the wait goes on.
    expect(withdraw!()).toBe(false);
    answer = 'reserve';
    expect(withdraw!()).toBe(true);
    release(null);
    expect(await Promise.all(calls)).toEqual(['reserve', 'reserve']);
    expect(ran).toEqual([]);
  });

  it('a request without such an answer waiting beside them makes the batch wait for the lock and run them all', async () => {
    const { backend, batches } = recordingBackend();
    let asked: (() => boolean) | undefined;
    const spy: BatchBackend<number> = {
      ...backend,
      acquire: (w) => {
        asked = w;
        return backend.acquire();
      },
    };
    const group = new GroupCommit(spy, () => () => 0);
    const results = await Promise.all([
      group.submit(
        () => 'a',
        true,
        () => 'instead',
      ),
      group.submit(() => 'b'),
    ]);
    expect(asked).toBeUndefined();
    expect(results).toEqual(['a', 'b']);
    expect(batches).toHaveLength(1);
  });

  it('runNow runs a request at once, in a batch of its own, when the lock is free and nothing of its own waits', async () => {
    const { backend, batches } = recordingBackend();
    let free = true;
    const steps: string[] = [];
    const hooks: boolean[] = [];
    const now: BatchBackend<number> = {
      ...backend,
      tryAcquire: () => {
        if (!free) return null;
        steps.push('lock');
        return () => steps.push('leave');
      },
      run: (fns, more, hook) => {
        hooks.push(hook);
        steps.push('run');
        return backend.run(fns, more, hook);
      },
    };
    const group = new GroupCommit(now, () => () => 0);
    expect(group.runNow(() => 'now', false)).toEqual({ value: 'now' });
    expect(steps).toEqual(['lock', 'run', 'leave']);
    // A request of its own waiting for a batch goes first: runNow declines, and runs nothing.
    const queued = group.submit(() => 'queued');
    expect(group.runNow(() => 'jumped')).toBeUndefined();
    expect(await queued).toBe('queued');
    expect(group.runNow(() => 'after')).toEqual({ value: 'after' });
    // The lock not free now: declined, nothing run.
    free = false;
    expect(group.runNow(() => 'locked')).toBeUndefined();
    expect(batches).toEqual([[1], [1], [1]]);
    expect(hooks).toEqual([false, true, true]);
  });

  it('runNow throws what the request threw, after giving the lock back; a backend that cannot take the lock at once declines', () => {
    let held = false;
    const group = new GroupCommit<number>({
      acquire: async () => () => {},
      tryAcquire: () => {
        held = true;
        return () => {
          held = false;
        };
      },
      run: (fns) =>
        fns.map((fn) => {
          try {
            return { ok: true, value: fn(0) };
          } catch (error) {
            return { ok: false, error };
          }
        }),
    });
    expect(() =>
      group.runNow(() => {
        throw new Error('port held');
      }),
    ).toThrow('port held');
    expect(held).toBe(false);
    const waiting = new GroupCommit<number>({ acquire: async () => () => {}, run: () => [] });
    expect(waiting.runNow(() => 1)).toBeUndefined();
  });
});
