import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import { isBerthError } from '../errors.js';
import { diagnoseLeases, leasedServices } from './diagnostics.js';
import { createPortManager, type PortManager } from './manager.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A project with an http `server`, a tcp `database` and a `cache`, on a fake machine. */
async function project(machine: FakeMachine): Promise<PortManager> {
  const root = mkdtempSync(join(tmpdir(), 'berth-diagnostics-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const pm = await createPortManager({
    cwd: root,
    home: join(root, 'home'),
    adapters: machine.adapters(),
    config: {
      services: {
        server: { preferred: [3000], requires: ['http'] },
        database: { preferred: [5432], requires: ['tcp'] },
        cache: { preferred: [6379], requires: ['tcp'] },
      },
    },
  });
  cleanups.push(() => pm.close());
  return pm;
}

describe('diagnoseLeases (fake machine)', () => {
  it('tells bound, foreign and free ports apart, and checks health only where the service listens', async () => {
    const machine = new FakeMachine();
    const pm = await project(machine);
    machine.spawn({ pid: 500, command: 'npm start' });
    await pm.assignServices(['server'], { owner: machine.owner(500) });
    await pm.assignServices(['database', 'cache']);
    machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    machine.listen(5432, { pid: 600, command: 'postgres' });
    machine.health.set(5432, { status: 'healthy', reason: null, latencyMs: 3 });
    const rows = await diagnoseLeases(pm, leasedServices(pm, []));
    expect(rows.map((r) => [r.service, r.state, r.holder?.pid ?? null, r.health.status])).toEqual([
      ['server', 'foreign', 900, 'unknown'],
      ['database', 'bound', 600, 'healthy'],
      ['cache', 'free', null, 'not-running'],
    ]);
  });

  it('refuses a named service without a lease, naming the fix', async () => {
    const pm = await project(new FakeMachine());
    const error = (() => {
      try {
        return leasedServices(pm, ['server']);
      } catch (e) {
        return e;
      }
    })();
    expect(isBerthError(error, 'E_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe('server has no lease; run `berth assign server` first.');
  });
});
