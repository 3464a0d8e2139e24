import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import { openRegistry } from '../adapters/registry/sqlite.js';
import type { Registry, RegistryTx } from '../core/registry.js';
import { BerthError } from '../errors.js';
import { diagnoseLeases, leasedServices } from './diagnostics.js';
import { fixLeases } from './fix.js';
import { createPortManager, type PortManager } from './manager.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A registry whose transactions fail at their first insert while `failing` is set: a racer's lease, a full disk. */
function flakyRegistry(home: string) {
  const real = openRegistry({ home });
  const state = { failing: false };
  const registry: Registry = Object.assign(Object.create(real) as Registry, {
    transaction: <T>(fn: (tx: RegistryTx) => T, options?: { reclaim?: boolean }) =>
      real.transaction((tx) => {
        if (!state.failing) return fn(tx);
        const failing = Object.assign(Object.create(tx) as RegistryTx, {
          insert: () => {
            throw new BerthError('E_PORT_HELD', 'port taken by a racing process.');
          },
        });
        return fn(failing);
      }, options),
    close: () => real.close(),
  });
  return { registry, state };
}

/** `server` (3000-3001, websocket on its port) and `database` (5432 only), on a fake machine. */
async function project(machine: FakeMachine, registry?: Registry): Promise<PortManager> {
  const root = mkdtempSync(join(tmpdir(), 'berth-fix-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const pm = await createPortManager({
    cwd: root,
    home: join(root, 'home'),
    adapters: { ...machine.adapters(), ...(registry ? { registry } : {}) },
    config: {
      // No emergency ports: a service whose range is taken has nowhere to go.
      exclude: [{ min: 20000, max: 29999 }],
      services: {
        server: { preferred: [3000], range: { min: 3000, max: 3001 } },
        websocket: { inheritFrom: 'server', requires: ['websocket'] },
        database: { preferred: [5432], range: { min: 5432, max: 5432 }, requires: ['tcp'] },
      },
    },
  });
  cleanups.push(() => pm.close());
  return pm;
}

const leaseRows = (pm: PortManager) => pm.leases().map((l) => [l.service, l.port, l.owner?.pid ?? null]);

describe('fixLeases (berth check --fix)', () => {
  it('moves a service whose port a stranger took, with the services sharing its port, keeping its owner', async () => {
    const machine = new FakeMachine();
    const pm = await project(machine);
    machine.spawn({ pid: 500, command: 'npm start' });
    await pm.assignServices(['server', 'websocket'], { owner: machine.owner(500) });
    machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    const outcomes = await fixLeases(pm, await diagnoseLeases(pm, leasedServices(pm, [])));
    expect(outcomes).toEqual([
      {
        kind: 'moved',
        service: 'server',
        from: 3000,
        to: 3001,
        holder: expect.objectContaining({ pid: 900 }),
        ownerPid: 500,
      },
    ]);
    expect(leaseRows(pm)).toEqual([
      ['server', 3001, 500],
      ['websocket', 3001, 500],
    ]);
  });

  it('a move that finds no port leaves the lease and its history as they were', async () => {
    const machine = new FakeMachine();
    const pm = await project(machine);
    machine.spawn({ pid: 500, command: 'postgres' });
    await pm.assignServices(['database'], { owner: machine.owner(500) });
    machine.listen(5432, { pid: 900, command: 'nc -l 5432' });
    const before = leaseRows(pm);
    const outcomes = await fixLeases(pm, await diagnoseLeases(pm, leasedServices(pm, [])));
    expect(outcomes).toEqual([
      { kind: 'failed', service: 'database', port: 5432, message: expect.stringContaining('no free port') },
    ]);
    expect(leaseRows(pm)).toEqual(before);
    const scope = { dir: pm.config.dir, environment: pm.config.environment };
    expect(pm.adapters.registry.history(scope).get('database')).toBe(5432);
  });

  it('a move whose write fails (a racing process) leaves every lease as it was', async () => {
    const machine = new FakeMachine();
    const root = mkdtempSync(join(tmpdir(), 'berth-fix-flaky-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const { registry, state } = flakyRegistry(root);
    const pm = await project(machine, registry);
    machine.spawn({ pid: 500, command: 'npm start' });
    await pm.assignServices(['server', 'websocket'], { owner: machine.owner(500) });
    machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    const before = leaseRows(pm);
    state.failing = true;
    const outcomes = await fixLeases(pm, await diagnoseLeases(pm, leasedServices(pm, [])));
    expect(outcomes).toEqual([
      { kind: 'failed', service: 'server', port: 3000, message: 'port taken by a racing process.' },
    ]);
    expect(leaseRows(pm)).toEqual(before);
  });

  it('reclaims a stale lease only while it is the lease that was diagnosed', async () => {
    const machine = new FakeMachine();
    const pm = await project(machine);
    machine.spawn({ pid: 500, command: 'npm start' });
    await pm.assignServices(['database'], { owner: machine.owner(500) });
    machine.processes.delete(500);
    const rows = await diagnoseLeases(pm, leasedServices(pm, []));
    expect(rows.map((r) => r.state)).toEqual(['owner-dead']);
    // Another berth process re-ties the lease to a live owner between the diagnosis and the fix.
    machine.spawn({ pid: 600, command: 'berth run' });
    await pm.setOwner(['database'], machine.owner(600));
    expect(await fixLeases(pm, rows)).toEqual([
      { kind: 'kept', service: 'database', port: 5432, why: 'changed' },
    ]);
    expect(leaseRows(pm)).toEqual([['database', 5432, 600]]);
    // Its owner dies too: now the fix reclaims it.
    machine.processes.delete(600);
    const again = await diagnoseLeases(pm, leasedServices(pm, []));
    expect(await fixLeases(pm, again)).toEqual([
      { kind: 'reclaimed', service: 'database', port: 5432, reason: 'owner-dead', ownerPid: 600 },
    ]);
    expect(leaseRows(pm)).toEqual([]);
  });
});
