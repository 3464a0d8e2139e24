/**
 * A fleet of berth processes on simulated hosts (BERTH_HOST), each a child running
 * test/etcd/worker.mjs against the etcd registry.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/** One worker's answer to `go N`. */
export interface Answer {
  pid: number;
  ports: number[];
  errors: { code: string; message: string }[];
}

/** A running worker. */
export interface Worker {
  host: string;
  child: ChildProcess;
  /** Sends `go N` and resolves with the answer. */
  go(n: number): Promise<Answer>;
  /** Opens the registry (one getPort and its release). */
  warm(): Promise<void>;
  /** Ends the worker (its leases end with it). */
  end(): Promise<void>;
}

/** Starts workers; `stopAll()` ends those still running and removes their homes. */
export function fleet(registryUrl: string) {
  const started: Worker[] = [];
  const homes: string[] = [];
  return {
    async start(host: string): Promise<Worker> {
      const home = mkdtempSync(join(tmpdir(), 'berth-etcd-worker-'));
      homes.push(home);
      const env = { ...process.env, BERTH_REGISTRY: registryUrl, BERTH_HOST: host, BERTH_HOME: home };
      const child = spawn(process.execPath, [WORKER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! });
      const queue: string[] = [];
      const waiting: ((line: string) => void)[] = [];
      lines.on('line', (line) => {
        const next = waiting.shift();
        if (next) next(line);
        else queue.push(line);
      });
      const next = () =>
        new Promise<string>((resolve) => {
          const line = queue.shift();
          if (line !== undefined) resolve(line);
          else waiting.push(resolve);
        });
      const first = await next();
      if (first !== 'started') throw new Error(`worker said ${first}`);
      const worker: Worker = {
        host,
        child,
        go: async (n) => {
          child.stdin!.write(`go ${n}\n`);
          return JSON.parse(await next()) as Answer;
        },
        warm: async () => {
          child.stdin!.write('warm\n');
          const line = await next();
          if (line !== 'warm') throw new Error(`worker said ${line}`);
        },
        end: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.stdin!.end('end\n');
          await exited;
        },
      };
      started.push(worker);
      return worker;
    },
    async stopAll(): Promise<void> {
      for (const w of started.splice(0)) {
        if (w.child.exitCode === null && w.child.signalCode === null) {
          const exited = once(w.child, 'exit');
          w.child.kill('SIGKILL');
          await exited;
        }
      }
      for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
    },
  };
}
