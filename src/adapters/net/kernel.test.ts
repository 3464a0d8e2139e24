import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Listener } from '../../core/facts.js';
import { BerthError } from '../../errors.js';
import { createKernelFacts, type KernelSources } from './kernel.js';

const listener = (port: number, address = '127.0.0.1'): Listener => ({
  address,
  port,
  inode: port,
  uid: 1000,
});

/** Sources whose listening table the test changes, counting reads. */
function fakeKernel(initial: Listener[] | null = [listener(3000)]) {
  const state = { table: initial, syncReads: 0, asyncReads: 0, ephemeralReads: 0 };
  const pendingAsync: (() => void)[] = [];
  const sources: KernelSources = {
    listeners: () => {
      state.syncReads++;
      return state.table === null ? null : [...state.table];
    },
    listenersAsync: () => {
      state.asyncReads++;
      // Snapshot the table now, deliver when the test says the thread pool finished.
      const table = state.table === null ? null : [...state.table];
      return new Promise((resolve) => pendingAsync.push(() => resolve(table)));
    },
    ephemeralRange: () => {
      state.ephemeralReads++;
      return { min: 32768, max: 60999 };
    },
    excludedRanges: async () => [],
  };
  const clock = { now: 1000 };
  const finishAsyncReads = async (): Promise<void> => {
    for (const finish of pendingAsync.splice(0)) finish();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { state, sources, clock, now: () => clock.now, finishAsyncReads };
}

describe('createKernelFacts: listening sockets', () => {
  it('serves one read for cacheMs, then reads again', () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ cacheMs: 25, staleMs: 0, sources: k.sources, now: k.now });
    expect(facts.listeners()).toEqual([listener(3000)]);
    k.state.table = [listener(3001)];
    k.clock.now += 25;
    expect(facts.listeners()).toEqual([listener(3000)]);
    expect(k.state.syncReads).toBe(1);
    k.clock.now += 1;
    expect(facts.listeners()).toEqual([listener(3001)]);
    expect(k.state.syncReads).toBe(2);
  });

  it('reads on every call with cacheMs 0 and staleMs 0', () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ cacheMs: 0, staleMs: 0, sources: k.sources, now: k.now });
    facts.listeners();
    k.clock.now += 0.001;
    facts.listeners();
    expect(k.state.syncReads).toBe(2);
  });

  it('serves a stale read while one background read refreshes it, then the fresh one', async () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ cacheMs: 25, staleMs: 250, sources: k.sources, now: k.now });
    facts.listeners();
    k.state.table = [listener(4000)];
    k.clock.now += 100;
    expect(facts.listeners()).toEqual([listener(3000)]);
    expect(facts.listeningPorts()).toEqual(new Set([3000]));
    expect(k.state.asyncReads).toBe(1); // the second stale call joined the first refresh
    expect(k.state.syncReads).toBe(1);
    await k.finishAsyncReads();
    expect(facts.listeners()).toEqual([listener(4000)]);
    expect(k.state.syncReads).toBe(1);
  });

  it('reads synchronously once the last read is older than cacheMs + staleMs', () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ cacheMs: 25, staleMs: 250, sources: k.sources, now: k.now });
    facts.listeners();
    k.state.table = [listener(5000)];
    k.clock.now += 276;
    expect(facts.listeners()).toEqual([listener(5000)]);
    expect(k.state.syncReads).toBe(2);
    expect(k.state.asyncReads).toBe(0);
  });

  it('keeps a newer synchronous read when an older background read lands late', async () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ cacheMs: 25, staleMs: 250, sources: k.sources, now: k.now });
    facts.listeners(); // t=1000, [3000]
    k.clock.now += 100;
    k.state.table = [listener(6000)];
    facts.listeners(); // stale: background read of [6000] starts at t=1100
    k.state.table = [listener(7000)];
    k.clock.now += 300;
    expect(facts.listeners()).toEqual([listener(7000)]); // t=1400: too old, synchronous read
    await k.finishAsyncReads();
    expect(facts.listeners()).toEqual([listener(7000)]);
  });

  it('refresh() resolves at once while fresh and otherwise reads off the main thread', async () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ cacheMs: 25, sources: k.sources, now: k.now });
    const first = facts.refresh();
    expect(k.state.asyncReads).toBe(1);
    await k.finishAsyncReads();
    await first;
    expect(facts.listeners()).toEqual([listener(3000)]);
    expect(k.state.syncReads).toBe(0);
    await facts.refresh();
    expect(k.state.asyncReads).toBe(1);
  });

  it('refresh() keeps the old read when the background read fails', async () => {
    const k = fakeKernel();
    const facts = createKernelFacts({
      cacheMs: 25,
      staleMs: 0,
      sources: { ...k.sources, listenersAsync: () => Promise.reject(new Error('EIO')) },
      now: k.now,
    });
    facts.listeners();
    k.clock.now += 100;
    await expect(facts.refresh()).resolves.toBeUndefined();
    k.state.table = [listener(8000)];
    expect(facts.listeners()).toEqual([listener(8000)]); // stale and no fresh read: synchronous
  });

  it('derives listening ports once per read', () => {
    const k = fakeKernel([listener(3000), listener(3000, '::1'), listener(3001, '::')]);
    const facts = createKernelFacts({ sources: k.sources, now: k.now });
    const ports = facts.listeningPorts();
    expect(ports).toEqual(new Set([3000, 3001]));
    expect(facts.listeningPorts()).toBe(ports);
    k.clock.now += 1000;
    k.state.table = [listener(3002)];
    expect(facts.listeningPorts()).toEqual(new Set([3002]));
  });

  it('reports null where the platform has no table', () => {
    const k = fakeKernel(null);
    const facts = createKernelFacts({ sources: k.sources, now: k.now });
    expect(facts.listeners()).toBeNull();
    expect(facts.listeningPorts()).toBeNull();
  });
});

describe('createKernelFacts: ranges', () => {
  it('reads the ephemeral range once', () => {
    const k = fakeKernel();
    const facts = createKernelFacts({ sources: k.sources, now: k.now });
    expect(facts.ephemeralRange()).toEqual({ min: 32768, max: 60999 });
    expect(facts.ephemeralRange()).toEqual({ min: 32768, max: 60999 });
    expect(k.state.ephemeralReads).toBe(1);
  });

  it('serves no excluded ranges until they are loaded, then the loaded ones', async () => {
    const k = fakeKernel();
    let finish: (ranges: { min: number; max: number }[]) => void = () => {};
    const facts = createKernelFacts({
      sources: { ...k.sources, excludedRanges: () => new Promise((resolve) => (finish = resolve)) },
      now: k.now,
    });
    expect(facts.excludedRanges()).toEqual([]);
    finish([{ min: 50000, max: 50059 }]);
    await facts.ready();
    expect(facts.excludedRanges()).toEqual([{ min: 50000, max: 50059 }]);
  });

  it('ready() rejects with the netsh error and leaves the excluded ranges empty', async () => {
    const k = fakeKernel();
    const failure = new BerthError('E_PROBE', 'netsh failed. Run it yourself.');
    const facts = createKernelFacts({
      sources: { ...k.sources, excludedRanges: () => Promise.reject(failure) },
      now: k.now,
    });
    await expect(facts.ready()).rejects.toBe(failure);
    expect(facts.excludedRanges()).toEqual([]);
  });
});

describe('createKernelFacts on this machine', () => {
  it('sees a listener open and close (Linux), or reports no table', async () => {
    const facts = createKernelFacts({ cacheMs: 0, staleMs: 0 });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const open = facts.listeningPorts();
    await new Promise((resolve) => server.close(resolve));
    const closed = facts.listeningPorts();
    if (process.platform === 'linux') {
      expect(open?.has(port)).toBe(true);
      expect(closed?.has(port)).toBe(false);
    } else {
      expect(open).toBeNull();
    }
    await facts.ready();
    expect(facts.excludedRanges()).toEqual(process.platform === 'win32' ? expect.any(Array) : []);
  });
});
