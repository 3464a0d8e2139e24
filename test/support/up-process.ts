/**
 * A `berth up` run by a test (the built CLI), its output line by line, and the small
 * HTTP service its tests run (prints its pid, listens on $PORT on loopback).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from '../helpers.js';

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
}

export function startBerthUp(cwd: string, env: NodeJS.ProcessEnv, args: string[] = []): Up {
  const child = spawn(process.execPath, [CLI, 'up', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
