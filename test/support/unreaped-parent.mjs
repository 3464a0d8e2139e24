// A parent that does not reap: it starts a child that leases the given ports exactly
// (getPort with a one-port range), SIGKILLs it once they are leased, and then keeps
// its own event loop blocked, so the child stays a zombie (exited, its sockets closed,
// its pid still answering kill(pid, 0)) until the file named by argv[4] appears.
// Prints `zombie <pid>` once the kernel shows the child in state Z. Given a fourth
// argument, a file, it first prints `alive <pid>` and kills the child only once that
// file appears (so a test can see the owner alive first).
// argv: <lib> <ports json> <release file> [kill file]
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const [lib, portsJson, releaseFile, killFile] = process.argv.slice(2);
const child = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import { getPort } from ${JSON.stringify(lib)};
     for (const p of ${portsJson}) await getPort({ port: p, range: [p, p] });
     console.log('leased'); setInterval(() => {}, 1000);`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
child.stdout.once('data', () => {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  if (killFile) {
    process.stdout.write(`alive ${child.pid}\n`);
    const until = Date.now() + 60_000;
    while (!existsSync(killFile) && Date.now() < until) Atomics.wait(pause, 0, 0, 5);
  }
  process.kill(child.pid, 'SIGKILL');
  const state = () => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.[0];
  while (state() !== 'Z') Atomics.wait(pause, 0, 0, 5);
  process.stdout.write(`zombie ${child.pid}\n`);
  // No return to the event loop, so libuv never collects the child's exit status.
  const deadline = Date.now() + 60_000;
  while (!existsSync(releaseFile) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10);
});
