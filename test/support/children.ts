/**
 * Child processes for tests that need a real process (a listener, a sleeper):
 * each one started here is killed after its test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';

/** Registers an afterEach that kills what `start` spawned; returns `start`. */
export function childProcesses() {
  const started: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of started.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
  });
  return {
    /** Spawns `node <args>` with stdout piped. */
    start(args: string[]): ChildProcess {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      started.push(child);
      return child;
    },
    /** Spawns a node process listening on an ephemeral port of `host`; resolves with it and the port. */
    async listener(host = '127.0.0.1'): Promise<{ child: ChildProcess; port: number }> {
      const script = `const s = require('node:net').createServer().listen(0, ${JSON.stringify(host)}, () => console.log(s.address().port));`;
      const child = this.start(['-e', script]);
      const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
      return { child, port: Number(line) };
    },
  };
}
