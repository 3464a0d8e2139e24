import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/adapters/process/table.js';
import { createPortManager } from '../../src/compose/manager.js';
import { isBerthError } from '../../src/errors.js';
import { close, listen, reserveBlock } from '../helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(autoReassign: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-reassign-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const block = (await reserveBlock(3)) as [number, number, number];
  const pm = await createPortManager({
    cwd: dir,
    home: join(dir, 'state'),
    config: {
      autoReassign,
      services: { server: { preferred: [block[0]], range: { min: block[0], max: block[2] } } },
    },
  });
  cleanups.push(() => pm.close());
  // The lease belongs to a live process that never listens (a service still starting).
  const owner: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    stdio: 'ignore',
  });
  cleanups.push(() => owner.kill('SIGKILL'));
  await new Promise((resolve) => owner.once('spawn', resolve));
  await pm.assign('server', { owner: createProcessTable().owner(owner.pid!) });
  // Then a process berth did not lease (this test process) takes the port.
  const squatter: Server = await listen(block[0]);
  cleanups.push(() => close(squatter));
  return { pm, block };
}

describe('autoReassign', () => {
  it('moves a reserved service whose port a foreign process took, and says so', async () => {
    const { pm, block } = await setup(true);
    const result = await pm.assignAll();
    expect(result.services.server!.port).toBe(block[1]);
    expect(result.decisions[0]!.message).toMatch(
      new RegExp(
        `^server moved from ${block[0]} to ${block[1]}: ${block[0]} taken by pid ${process.pid} \\(.*\\), a process berth did not lease \\(autoReassign\\)$`,
      ),
    );
  });

  it('with autoReassign off, fails with E_PORT_HELD naming the holder and keeps the lease', async () => {
    const { pm, block } = await setup(false);
    const error = await pm.assignAll().catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PORT_HELD')).toBe(true);
    expect((error as Error).message).toContain(`pid ${process.pid}`);
    expect(pm.leases().map((l) => l.port)).toEqual([block[0]]);
  });
});
