import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isBerthError } from '../../errors.js';
import { type StopSelf, stopProcess, whyNotStop } from './signal.js';
import { createProcessTable } from './table.js';

const SELF: StopSelf = { pid: 4242, ppid: 4000, uid: 1000 };

describe('whyNotStop', () => {
  it('allows a process of the same user', () => {
    expect(whyNotStop({ pid: 5000, uid: 1000 }, SELF)).toBeNull();
  });

  it.each([
    ['pid 1', { pid: 1, uid: 1000 }, /init process/],
    ['berth itself', { pid: 4242, uid: 1000 }, /berth itself/],
    ['its parent', { pid: 4000, uid: 1000 }, /parent/],
    ['another user', { pid: 5000, uid: 0 }, /another user \(uid 0\)/],
    ['pid 0 (the process group)', { pid: 0, uid: 1000 }, /not a process id/],
    ['a negative pid', { pid: -5000, uid: 1000 }, /not a process id/],
  ])('refuses %s, with the fix', (_name, target, reason) => {
    const why = whyNotStop(target, SELF);
    expect(why).toMatch(reason);
    expect(why).toMatch(/\.$/);
  });

  it('as root, refuses a process whose owner is unknown, and allows root-owned ones', () => {
    const root: StopSelf = { pid: 4242, ppid: 4000, uid: 0 };
    expect(whyNotStop({ pid: 5000, uid: null }, root)).toMatch(/cannot tell which user/);
    expect(whyNotStop({ pid: 5000, uid: 1000 }, root)).toMatch(/another user/);
    expect(whyNotStop({ pid: 5000, uid: 0 }, root)).toBeNull();
  });

  it('leaves an unknown owner to the kernel for a normal user, and allows all where there are no uids', () => {
    expect(whyNotStop({ pid: 5000, uid: null }, SELF)).toBeNull();
    expect(whyNotStop({ pid: 5000, uid: null }, { pid: 4242, ppid: 4000, uid: null })).toBeNull();
  });
});

const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

/** A child listening on 127.0.0.1:0; with `ignoreTerm` it shrugs off SIGTERM. */
async function spawnListener(ignoreTerm: boolean): Promise<ChildProcess & { pid: number }> {
  const script = [
    ignoreTerm ? "process.on('SIGTERM', () => {});" : '',
    "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port));",
  ].join('');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await once(createInterface({ input: child.stdout! }), 'line');
  return child as ChildProcess & { pid: number };
}

const isRunning = (child: ChildProcess): boolean =>
  createProcessTable().isAlive({ pid: child.pid!, startTime: null }) && child.exitCode === null;

describe('stopProcess', () => {
  it('stops a process that honours SIGTERM', async () => {
    const child = await spawnListener(false);
    const exited = once(child, 'exit');
    expect(await stopProcess(child.pid, { force: false, graceMs: 5_000, stillOwnsPort: () => true })).toBe(
      'stopped',
    );
    expect(await exited).toEqual([null, 'SIGTERM']);
  });

  it('reports a process that ignores SIGTERM as survived without force, and kills it with force', async () => {
    const child = await spawnListener(true);
    expect(await stopProcess(child.pid, { force: false, graceMs: 300, stillOwnsPort: () => true })).toBe(
      'survived',
    );
    expect(isRunning(child)).toBe(true);

    const exited = once(child, 'exit');
    expect(await stopProcess(child.pid, { force: true, graceMs: 300, stillOwnsPort: () => true })).toBe(
      'killed',
    );
    expect(await exited).toEqual([null, 'SIGKILL']);
  });

  it('signals nothing when the pid no longer owns the port at the last check', async () => {
    const child = await spawnListener(false);
    expect(
      await stopProcess(child.pid, { force: true, graceMs: 300, stillOwnsPort: async () => false }),
    ).toBe('gone');
    expect(isRunning(child)).toBe(true);
  });

  it('reports a pid that does not exist as gone', async () => {
    expect(await stopProcess(2 ** 23, { force: true, graceMs: 300, stillOwnsPort: () => true })).toBe('gone');
  });

  it.each([
    ['pid 1', () => 1],
    ['itself', () => process.pid],
    ['its parent', () => process.ppid],
    ['pid 0', () => 0],
  ])('refuses %s with E_REFUSED before asking about the port', async (_name, pid) => {
    let asked = false;
    const stillOwnsPort = () => {
      asked = true;
      return true;
    };
    const error = await stopProcess(pid(), { force: true, graceMs: 300, stillOwnsPort }).catch(
      (e: unknown) => e,
    );
    expect(isBerthError(error, 'E_REFUSED')).toBe(true);
    expect(asked).toBe(false);
  });

  it("refuses another user's process, using the uid the caller knows", async () => {
    const child = await spawnListener(false);
    const otherUid = (process.getuid?.() ?? 0) + 1;
    const error = await stopProcess(child.pid, {
      force: true,
      graceMs: 300,
      stillOwnsPort: () => true,
      uid: otherUid,
    }).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_REFUSED')).toBe(true);
    expect((error as Error).message).toContain(`uid ${otherUid}`);
    expect(isRunning(child)).toBe(true);
  });
});
