/**
 * The composition on a fake machine (test/support/fake-machine.ts): no real
 * processes, sockets or /proc, only a real SQLite registry in a temp folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import type { UserConfig } from '../config/define.js';
import type { Registry, RegistryTx } from '../core/registry.js';
import { isBerthError } from '../errors.js';
import { createAdapters } from './context.js';
import { createPortManager, type PortManager } from './manager.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A port manager for `config` on `machine`; `wrap` may replace the registry (to watch it). */
async function managerOn(
  machine: FakeMachine,
  config: UserConfig,
  wrap: (registry: Registry) => Registry = (r) => r,
): Promise<PortManager> {
  const root = mkdtempSync(join(tmpdir(), 'berth-compose-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const real = createAdapters({ home: join(root, 'home'), adapters: machine.adapters() });
  const pm = await createPortManager({
    cwd: root,
    config,
    adapters: { ...real, registry: wrap(real.registry) },
  });
  cleanups.push(() => pm.close());
  return pm;
}

const server = (autoReassign: boolean): UserConfig => ({
  autoReassign,
  services: { server: { preferred: [3000], range: { min: 3000, max: 3010 } } },
});

describe('autoReassign', () => {
  /** `server` leased on 3000 by a live owner (pid 500) that has not bound it yet; then pid 900 takes 3000. */
  async function squatted(autoReassign: boolean) {
    const machine = new FakeMachine();
    const pm = await managerOn(machine, server(autoReassign));
    const owner = machine.spawn({ pid: 500, command: 'npm start' });
    await pm.assign('server', { owner: machine.owner(owner.pid) });
    machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    return { machine, pm };
  }

  it('moves a service whose port a foreign process took, and the decision says why', async () => {
    const { pm } = await squatted(true);
    const result = await pm.assignAll();
    expect(result.services.server!.port).toBe(3001);
    expect(result.decisions[0]!.message).toBe(
      'server moved from 3000 to 3001: 3000 taken by pid 900 (nc -l 3000), a process berth did not lease (autoReassign)',
    );
    expect(pm.leases().map((l) => l.port)).toEqual([3001]);
  });

  it('with autoReassign off, fails with E_PORT_HELD naming the holder and keeps the lease', async () => {
    const { pm } = await squatted(false);
    const error = await pm.assignAll().catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PORT_HELD')).toBe(true);
    expect((error as Error).message).toContain('pid 900 (nc -l 3000)');
    expect(pm.leases().map((l) => l.port)).toEqual([3000]);
  });

  it('keeps the port when the listener is the owner or something it started', async () => {
    const machine = new FakeMachine();
    const pm = await managerOn(machine, server(true));
    machine.spawn({ pid: 500, command: 'npm start' });
    await pm.assign('server', { owner: machine.owner(500) });
    machine.listen(3000, { pid: 501, command: 'node server.js', ppid: 500 });
    const result = await pm.assignAll();
    expect(result.services.server!.port).toBe(3000);
    expect(pm.leases()[0]).toMatchObject({ port: 3000, state: 'bound' });
  });
});

describe('sticky ports', () => {
  it('gives a released service its last port back, before its preferred one', async () => {
    const machine = new FakeMachine();
    const pm = await managerOn(machine, {
      services: { api: { preferred: [4001], range: { min: 4000, max: 4010 } } },
    });
    machine.listen(4001, { pid: 900, command: 'python -m http.server 4001' });
    expect((await pm.assign('api')).port).toBe(4000);
    await pm.release('api');
    machine.listening.delete(4001);
    const again = await pm.assignAll();
    expect(again.services.api).toMatchObject({ port: 4000, strategy: 'sticky' });
  });
});

describe('bind confirmation', () => {
  it('gives a port that turns out busy on bind back and leases another', async () => {
    const machine = new FakeMachine();
    const pm = await managerOn(machine, {
      services: { api: { preferred: [4000], range: { min: 4000, max: 4010 } } },
    });
    // A listener the kernel's table had not shown yet: the bind finds it, once.
    machine.busyOnBind.set(4000, 1);
    const { port } = await pm.assign('api');
    expect(port).toBe(4001);
    expect(machine.probed).toEqual([4000, 4001]);
    expect(pm.adapters.registry.leasesInRange(4000, 4000)).toEqual([]);
    expect(pm.leases().map((l) => l.port)).toEqual([4001]);
  });

  it('fails with E_NO_PORT after maxRetries when every bind finds a port busy', async () => {
    const machine = new FakeMachine();
    const pm = await managerOn(machine, {
      maxRetries: 1,
      services: { api: { preferred: [4000], range: { min: 4000, max: 4010 } } },
    });
    machine.busyOnBind.set(4000, 1);
    machine.busyOnBind.set(4001, 1);
    const error = await pm.assign('api').catch((e: unknown) => e);
    expect(isBerthError(error, 'E_NO_PORT')).toBe(true);
    expect((error as Error).message).toContain('(4000, 4001) after 2 attempts');
    expect(pm.leases()).toEqual([]);
  });
});

describe('group commit', () => {
  /**
   * A registry that runs the transactions submitted in one turn of the event loop
   * together, as the SQLite adapter's group commit does (without its time budget,
   * so the test does not depend on the machine's speed), and records each batch's size.
   */
  function batching(inner: Registry, sizes: number[]): Registry {
    let waiting: {
      fn: (tx: RegistryTx) => unknown;
      settle: (outcome: { value?: unknown; error?: unknown }) => void;
    }[] = [];
    const flush = () => {
      const jobs = waiting;
      waiting = [];
      sizes.push(jobs.length);
      void inner
        .transaction((tx) =>
          jobs.map((job) => {
            try {
              return { value: job.fn(tx) };
            } catch (error) {
              return { error };
            }
          }),
        )
        .then(
          (outcomes) => {
            for (const [i, outcome] of outcomes.entries()) jobs[i]!.settle(outcome);
          },
          (error: unknown) => {
            for (const job of jobs) job.settle({ error });
          },
        );
    };
    const transaction = <T>(fn: (tx: RegistryTx) => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        waiting.push({
          fn,
          settle: (o) => ('error' in o ? reject(o.error) : resolve(o.value as T)),
        });
        if (waiting.length === 1) queueMicrotask(flush);
      });
    return new Proxy(inner, {
      get(target, prop) {
        if (prop === 'transaction') return transaction;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it('runs several assignments made at once in one registry batch', async () => {
    const machine = new FakeMachine();
    const sizes: number[] = [];
    const pm = await managerOn(
      machine,
      {
        services: {
          a: { range: { min: 5000, max: 5010 } },
          b: { range: { min: 5000, max: 5010 } },
          c: { range: { min: 5000, max: 5010 } },
        },
      },
      (registry) => batching(registry, sizes),
    );
    const ports = await Promise.all([pm.assign('a'), pm.assign('b'), pm.assign('c')]);
    expect(sizes).toEqual([3]);
    expect(ports.map((p) => p.port)).toEqual([5000, 5001, 5002]);
  });
});

describe('createPortManager', () => {
  it("tells onWarning the config's warnings, each with its path", async () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-compose-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const machine = new FakeMachine();
    const warnings: string[] = [];
    const pm = await createPortManager({
      cwd: root,
      config: { services: { server: { preferred: [3000], range: { min: 4000, max: 4010 } } } },
      adapters: createAdapters({ home: join(root, 'home'), adapters: machine.adapters() }),
      onWarning: (w) => warnings.push(`${w.path}: ${w.message}`),
    });
    cleanups.push(() => pm.close());
    expect(warnings).toEqual([
      'services.server.preferred[0]: 3000 is outside range 4000-4010; it is still tried first',
    ]);
  });
});
