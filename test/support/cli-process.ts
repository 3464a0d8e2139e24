/**
 * The built CLI as a long-running process (`berth up`, `berth run`): its
 * output, line by line, a way to wait for a line, and its exit. Call
 * `killStarted()` after each test: what a failed test left is SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI, close, listen } from '../helpers.js';

/** A service script: logs `pid=<pid>`, then answers HTTP on $PORT and logs `listening on <port>`. */
export const HTTP_SERVICE = `
const http = require('node:http');
console.log('pid=' + process.pid);
http.createServer((q, s) => s.end(process.env.NAME || 'ok')).listen(+process.env.PORT, '127.0.0.1', () => console.log('listening on ' + process.env.PORT));
`;

/** A running `berth up`: its output, line by line, and a way to wait for a line. */
export interface Up {
  child: ChildProcess;
  out: string[];
  err: string[];
  /** Resolves with the first line (of either stream) matching `pattern`, seen or to come. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<number | null>;
  /**
   * Ctrl-C as a terminal sends it: SIGINT to the foreground process group
   * (with `{ group: true }`, the CLI's own group and everything in it), else to the CLI.
   */
  interrupt(): void;
}

/** Options of {@link startUp}. */
export interface StartOptions {
  /** The command after `berth`; default `up`. */
  command?: string;
  /** Start it in a process group of its own, as a shell starts a job, so {@link Up.interrupt} reaches its children. */
  group?: boolean;
}

const running: { child: ChildProcess; group: boolean }[] = [];

/** SIGKILLs every CLI process started since the last call that still runs (its group, when it has one). */
export function killStarted(): void {
  for (const { child, group } of running.splice(0)) {
    try {
      if (group) process.kill(-child.pid!, 'SIGKILL');
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Starts `berth up` (or, with `command`, another long-running command such as `run`). */
export function startUp(
  cwd: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  options: StartOptions = {},
): Up {
  const group = options.group === true;
  const child = spawn(process.execPath, [CLI, options.command ?? 'up', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  running.push({ child, group });
  const out: string[] = [];
  const err: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const take = (list: string[]) => (line: string) => {
    list.push(line);
    for (const w of [...waiting]) {
      if (w.pattern.test(line)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', take(out));
  createInterface({ input: child.stderr! }).on('line', take(err));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    out,
    err,
    exit,
    interrupt: () => (group ? process.kill(-child.pid!, 'SIGINT') : child.kill('SIGINT')),
    line(pattern, timeoutMs = 20_000) {
      const seen = [...out, ...err].find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no line matching ${pattern} within ${timeoutMs} ms:\n${[...err, ...out].join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        waiting.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** Whether nothing listens on `port` (this process can bind it). */
export async function free(port: number): Promise<boolean> {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it holds; fails after `ms`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
