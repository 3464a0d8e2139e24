import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpawnedProcess } from '../../core/facts.js';
import { createProcessGroups } from './group.js';
import { spawnInGroup } from './spawn.js';
import { createProcessTable } from './table.js';

const groups = createProcessGroups();
const started: SpawnedProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) groups.signal(p, 'SIGKILL');
});

/** A shell that starts a grandchild (which prints its pid) and waits, as `npm run dev` does. */
async function parentWithGrandchild(): Promise<{ p: SpawnedProcess; grandchild: number }> {
  const script = `const c = require('node:child_process').spawn(process.execPath, ['-e', 'console.log(process.pid); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'inherit', 'inherit'] }); setInterval(() => {}, 1000);`;
  const p = await spawnInGroup({
    command: { kind: 'exec', argv: [process.execPath, '-e', script] },
    cwd: '.',
    env: { PATH: process.env.PATH ?? '' },
  });
  started.push(p);
  const grandchild = await new Promise<number>((resolve) => {
    p.onOutput((_s, text) => resolve(Number(text.trim())));
  });
  return { p, grandchild };
}

describe.skipIf(process.platform === 'win32')('process groups', () => {
  it('signals the whole group: the grandchild goes with its parent', async () => {
    const { p, grandchild } = await parentWithGrandchild();
    const processes = createProcessTable();
    expect(groups.alive(p)).toBe(true);
    expect(groups.signal(p, 'SIGTERM')).toBe('sent');
    expect(await p.exited).toEqual({ code: null, signal: 'SIGTERM' });
    for (let i = 0; i < 100 && processes.exists(grandchild); i++) await sleep(20);
    expect(processes.exists(grandchild)).toBe(false);
    expect(groups.alive(p)).toBe(false);
    expect(groups.signal(p, 'SIGTERM')).toBe('gone');
  });

  it('keeps a group alive while a member lives after its leader exited', async () => {
    const { p, grandchild } = await parentWithGrandchild();
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    expect(createProcessTable().exists(grandchild)).toBe(true);
    expect(groups.alive(p)).toBe(true);
    expect(groups.signal(p, 'SIGKILL')).toBe('sent');
  });

  it.skipIf(process.platform !== 'linux')(
    'never treats a group whose leader pid was reused as ours',
    async () => {
      // This test process stands for "another process that now has the pid": another start time.
      const reused = { pid: process.pid, pgid: process.pid, startTime: '1' };
      expect(groups.alive(reused)).toBe(false);
      expect(groups.signal(reused, 'SIGTERM')).toBe('gone');
    },
  );
});
