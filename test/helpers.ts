/**
 * Helpers for end-to-end tests: run the built CLI with a temp BERTH_HOME,
 * reserve free ports for test configs without assuming any port is free, and
 * wait for a condition instead of sleeping a fixed time.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_VERSION } from '../src/adapters/registry/migrations.js';
import { getPort, releasePort } from '../src/compose/get-port.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist/cli/main.js');

/**
 * The CLI's code cache for the tests' runs (XDG_CACHE_HOME in a sandbox's env): a folder of
 * the test run's user in the temp folder, not the developer's ~/.cache (src/cli/start.ts).
 */
export const TEST_CACHE_HOME = join(tmpdir(), `berth-test-cache-${process.getuid?.() ?? 'user'}`);

/**
 * One registry shared by every test worker, so parallel test files never reserve the same ports.
 * One per schema version: a checkout of another berth version testing on the same machine
 * migrates its own, and never makes this one refuse to open.
 */
const TEST_PORTS_HOME = join(tmpdir(), `berth-test-port-reservations-v${SCHEMA_VERSION}`);

/** Ports outside every ephemeral range and berth's default pool (20000-29999), for test configs. */
const TEST_BAND = { min: 10000, max: 19999 };

/**
 * Reserves `n` consecutive free ports (leased in a registry all test workers share,
 * and confirmed free by a bind), for configs that need contiguous ranges.
 */
export async function reserveBlock(n: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = TEST_BAND.min + Math.floor(Math.random() * (TEST_BAND.max - TEST_BAND.min - n));
    const got: number[] = [];
    try {
      for (let i = 0; i < n; i++) {
        got.push(await getPort({ port: base + i, range: [base + i, base + i], home: TEST_PORTS_HOME }));
      }
      return got;
    } catch {
      for (const p of got) await releasePort(p, { home: TEST_PORTS_HOME });
    }
  }
  throw new Error(`could not reserve ${n} consecutive free ports`);
}

/** A temp project folder with a config, and a temp BERTH_HOME. */
export interface Sandbox {
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
  writeConfig(config: unknown, name?: string): string;
  cleanup(): void;
}

/** Creates a sandbox; `cleanup()` removes it. */
export function sandbox(name = 'shop'): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
  const dir = join(root, name);
  const home = join(root, 'home');
  mkdirSync(dir);
  mkdirSync(TEST_CACHE_HOME, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_HOME: home,
    NO_COLOR: '1',
    XDG_CACHE_HOME: TEST_CACHE_HOME,
  };
  delete env.BERTH_ENV;
  return {
    dir,
    home,
    env,
    writeConfig(config, file = 'berth.config.json') {
      const path = join(dir, file);
      writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
      return path;
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (or, with `bin`, an installed one). */
export function berth(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number; bin?: string },
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [opts.bin ?? CLI, ...args],
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Listens on `port` at `host` in this process (a "foreign" holder from berth's point of view). */
export function listen(port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end());
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

/** Closes a server. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long, in milliseconds: a bound for a broken build, not the expected wait. */
  timeoutMs: number;
  /** Pause between two looks, in milliseconds. Default 10. */
  intervalMs?: number;
  /** What is awaited, for the timeout's message. */
  what?: string;
}

/**
 * Resolves with the first truthy value `condition` returns, looking again every
 * `intervalMs`; rejects after `timeoutMs`. Tests wait on what they mean
 * (a ticket in the lock queue, a lease gone stale) instead of a fixed sleep that
 * is too short on a loaded machine and too long everywhere else.
 *
 * @example
 * await waitFor(() => readdirSync(queue).length > 0, { timeoutMs: 5000, what: 'a ticket in the queue' });
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs, intervalMs = 10, what = 'the condition' }: WaitForOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
