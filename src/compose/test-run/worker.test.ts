/**
 * Worker ports against a real registry in a temp folder; the bind probe is
 * replaced where a test needs a lease to fail (no port is assumed free).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProbe } from '../../adapters/net/probe.js';
import type { Probe } from '../../core/facts.js';
import { isBerthError } from '../../errors.js';
import { createAdapters } from '../context.js';
import { GetPortContext } from '../get-port.js';
import {
  leaseWorkerPort,
  leaseWorkerPorts,
  WORKER_POOL_SIZE,
  WORKER_PORTS_MAX,
  type WorkerRef,
} from './worker.js';

const contexts: GetPortContext[] = [];
const roots: string[] = [];
afterEach(async () => {
  for (const context of contexts.splice(0)) {
    await context.releaseAll();
    context.close();
  }
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A worker of its own temp registry; `probe` replaces the real bind probe. */
function worker(probe?: Probe): WorkerRef & { context: GetPortContext } {
  const root = mkdtempSync(join(tmpdir(), 'berth-worker-'));
  roots.push(root);
  const context = new GetPortContext(
    createAdapters({ home: join(root, 'home'), ...(probe ? { adapters: { probe } } : {}) }),
  );
  contexts.push(context);
  return { runner: 'vitest', worker: '1', env: {}, context };
}

/** Ports the worker's process holds in its registry. */
const held = (ref: { context: GetPortContext }) =>
  ref.context.adapters.registry
    .leasesOwnedBy(process.pid)
    .map((l) => l.port)
    .sort();

/** The real probe for the first `free` checks, then every port is busy. */
function probeFreeFor(free: number): Probe {
  const real = createProbe();
  let left = free;
  return { check: async (port) => (left-- > 0 ? real.check(port) : 'busy') };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: unknown) => e as Error,
  );

describe('workerPorts(n)', () => {
  it('gives the same ports on every call, and keeps the first ones when n grows', async () => {
    const ref = worker();
    const two = await leaseWorkerPorts(ref, 2);
    expect(await leaseWorkerPorts(ref, 2)).toEqual(two);
    expect((await leaseWorkerPorts(ref, 3)).slice(0, 2)).toEqual(two);
  });

  it('refuses more ports than one call may take (the pool is shared) at once, with E_USAGE and no lease', async () => {
    expect(WORKER_PORTS_MAX).toBeLessThan(WORKER_POOL_SIZE);
    const ref = worker();
    const started = performance.now();
    for (const n of [WORKER_PORTS_MAX + 1, 10_500]) {
      const error = await failure(leaseWorkerPorts(ref, n));
      expect(isBerthError(error, 'E_USAGE')).toBe(true);
      expect(error?.message).toContain(
        `workerPorts(n): n must be a whole number from 0 to ${WORKER_PORTS_MAX}, got ${n}`,
      );
    }
    expect(performance.now() - started).toBeLessThan(500);
    expect(held(ref)).toEqual([]);
    expect(await leaseWorkerPorts(ref, WORKER_PORTS_MAX)).toHaveLength(WORKER_PORTS_MAX);
  });

  it('releases the ports a failed call leased, and keeps those of earlier calls', async () => {
    // Two binds succeed: the first call's port, and one of the second call's three.
    const ref = worker(probeFreeFor(2));
    const [first] = await leaseWorkerPorts(ref, 1);
    const error = await failure(leaseWorkerPorts(ref, 4));
    expect(isBerthError(error, 'E_NO_PORT')).toBe(true);
    expect(held(ref)).toEqual([first]);
    // The earlier call's port is still this worker's under its name.
    expect(await leaseWorkerPort(ref, 'ports[0]')).toBe(first);
  });

  it('names n and the range for a negative, fractional or non-number n, showing a string as given', async () => {
    const ref = worker();
    const messages = await Promise.all(
      [-1, 1.5, Number.NaN, '2'].map(async (n) => {
        const error = await failure(leaseWorkerPorts(ref, n));
        expect(isBerthError(error, 'E_USAGE')).toBe(true);
        return error?.message;
      }),
    );
    expect(messages[0]).toMatch(/^workerPorts\(n\): n must be a whole number from 0 to \d+, got -1\. /);
    expect(messages[1]).toContain('got 1.5.');
    expect(messages[2]).toContain('got NaN.');
    expect(messages[3]).toBe(
      'workerPorts(n): n must be a number, got "2". Pass the number of ports as a number, e.g. workerPorts(2).',
    );
    expect(held(ref)).toEqual([]);
  });
});

describe('workerPort(name)', () => {
  it('refuses an empty name and a name that is not a string, with E_USAGE', async () => {
    const ref = worker();
    for (const [name, shown] of [
      ['', '""'],
      ['  ', '"  "'],
      [3, '3'],
      [null, 'null'],
    ] as const) {
      const error = await failure(leaseWorkerPort(ref, name));
      expect(isBerthError(error, 'E_USAGE')).toBe(true);
      expect(error?.message).toContain(`workerPort(name): name must be a non-empty string, got ${shown}.`);
    }
    expect(held(ref)).toEqual([]);
    // No name is the default name.
    expect(await leaseWorkerPort(ref)).toBe(await leaseWorkerPort(ref, 'port'));
  });
});
