/**
 * Running a test runner (vitest, Jest, Playwright) on one of berth's examples,
 * from the repo's own node_modules, with a registry of the test's own: what
 * test/e2e/runners.test.ts needs to watch a run, interrupt it and look at what
 * it left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFreshListeners } from '../../src/adapters/net/procnet.js';
import { createHolderFinder } from '../../src/adapters/process/holders.js';
import { openRegistry } from '../../src/adapters/registry/sqlite.js';
import { getPort, releasePort } from '../../src/compose/get-port.js';
import type { Lease } from '../../src/core/types.js';
import { ROOT } from '../helpers.js';

/** The runners' command lines, relative to the repo's root. */
export const RUNNER_BIN = {
  vitest: join(ROOT, 'node_modules/vitest/vitest.mjs'),
  jest: join(ROOT, 'node_modules/jest/bin/jest.js'),
  playwright: join(ROOT, 'node_modules/@playwright/test/cli.js'),
} as const;

/** A runner process: its output so far, and its end. */
export interface RunnerProcess {
  child: ChildProcess;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The environment of a nested runner: this one's, without what the outer vitest
 * set for its own workers (a nested vitest would take VITEST_POOL_ID as its own).
 */
export function runnerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('VITEST') || key.startsWith('JEST') || key.startsWith('BERTH_')) continue;
    if (key === 'NODE_ENV' || key === 'TEST' || key === 'CI') continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

/** Starts `node <bin> args...` in `cwd` (default the repo's root). */
export function startRunner(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): RunnerProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exit };
}

/** Every lease in the registry of `home`. */
export function leasesIn(home: string): Lease[] {
  const registry = openRegistry({ home });
  try {
    return registry.allLeases();
  } finally {
    registry.close();
  }
}

/** One allocation in `home` (its transaction reclaims the leases of dead owners), given back at once. */
export async function allocateOnce(home: string): Promise<void> {
  const port = await getPort({ home, label: 'e2e allocation' });
  await releasePort(port, { home });
}

/** The lines the examples' tests wrote to BERTH_EXAMPLE_REPORT: which process bound which port. */
/** One bind an example's test reported: port, process, test, and from when until when it was bound (epoch ms). */
export interface Bound {
  port: number;
  pid: number;
  test: string;
  since: number;
  until: number;
}

export function readReport(file: string): Bound[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Bound);
}

/** Resolves once `check` holds, polling; rejects naming `what` after `ms`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a process with `pid` is alive (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}

/** The processes listening on `ports`. */
export async function listenerPids(ports: readonly number[]): Promise<number[]> {
  const listeners = await createFreshListeners().read();
  const finder = createHolderFinder();
  const found = await Promise.all(ports.map((port) => finder.find(port, listeners)));
  return [...new Set(found.flatMap((f) => f.holders.map((h) => h.pid)))];
}

/** The process group of `pid` (field 5 of /proc/<pid>/stat), or `null` when it is gone. */
export function processGroup(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command's parentheses: state, ppid, pgrp, ...
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/** The lines test runs' watchdogs wrote to the file BERTH_WATCHDOG_LOG names: when (epoch ms), which watchdog, what. */
export function watchdogRecord(file: string): { at: number; pid: number; line: string }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text) => {
      const entry = /^(\S+) watchdog (\d+): (.*)$/.exec(text);
      return entry ? [{ at: Date.parse(entry[1]!), pid: Number(entry[2]), line: entry[3]! }] : [];
    });
}
