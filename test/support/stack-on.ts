/**
 * A `berth up` on a fake machine (fake-machine.ts), for the stack runner's
 * tests: fake processes the test drives, a real SQLite registry in a temp
 * folder, timers on the machine's clock. Call `cleanUpStacks()` after each test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdapters } from '../../src/compose/context.js';
import { createPortManager, type PortManager } from '../../src/compose/manager.js';
import type { StackEvent } from '../../src/compose/stack/events.js';
import { startStack } from '../../src/compose/stack/start.js';
import type { UserConfig } from '../../src/config/define.js';
import type { FakeChild } from './fake-child.js';
import { FakeMachine } from './fake-machine.js';

const cleanups: (() => void)[] = [];

/** Closes the managers and removes the folders of the stacks started since the last call. */
export function cleanUpStacks(): void {
  for (const c of cleanups.splice(0).reverse()) c();
}

/** A port manager over `machine`, in a temp folder (its `cwd`, where a package.json may go). */
export async function managerOn(machine: FakeMachine, config: UserConfig): Promise<PortManager> {
  const root = mkdtempSync(join(tmpdir(), 'berth-stack-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const adapters = createAdapters({ home: join(root, 'home'), adapters: machine.adapters() });
  const pm = await createPortManager({ cwd: root, config, adapters });
  cleanups.push(() => pm.close());
  return pm;
}

/** Timers on the machine's clock: each sleep moves it on and yields for a moment. */
export function machineSleep(machine: FakeMachine) {
  return (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      machine.clock += ms;
      setTimeout(resolve, 1);
    });
}

/** Waits (in real time, briefly) until `condition` holds. */
export async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Starts `config`'s stack on a fresh fake machine, with `files` (a package.json) written in its folder first. */
export async function stackOn(
  config: UserConfig,
  services: string[] = [],
  files: Record<string, string> = {},
) {
  const machine = new FakeMachine();
  const pm = await managerOn(machine, { enableHealthChecks: false, ...config });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(pm.config.dir, name), text);
  const events: StackEvent[] = [];
  const stack = await startStack(pm, {
    services,
    emit: (e) => events.push(e),
    env: { PATH: '/usr/bin' },
    sleep: machineSleep(machine),
    pollMs: 5,
  });
  const started = (line: string, nth = 0) =>
    machine.children.filter((c) => commandOf(c) === line).length > nth;
  return {
    machine,
    pm,
    events,
    stack,
    /** Waits for the nth start of `line`, and returns it. */
    async child(line: string, nth = 0): Promise<FakeChild> {
      await until(`${line} #${nth} starts`, () => started(line, nth));
      return machine.child(line, nth);
    },
    /**
     * Waits until the stack has slept through `ms` of the machine's clock (its polls and
     * timers move it): what it would have done by then, it has done. Proves a negative
     * by the runner's own looks rather than by a real-time pause.
     */
    async afterClock(ms: number): Promise<void> {
      const until_ = machine.clock + ms;
      await until(`the stack sleeps through ${ms} ms`, () => machine.clock >= until_);
    },
    of: <T extends StackEvent['type']>(type: T) =>
      events.filter((e): e is Extract<StackEvent, { type: T }> => e.type === type),
  };
}

/** The command a fake child was started with, as one line. */
export function commandOf(c: FakeChild): string {
  const cmd = c.request.command;
  return cmd.kind === 'shell' ? cmd.line : cmd.argv.join(' ');
}
