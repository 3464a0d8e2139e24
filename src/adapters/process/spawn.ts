/**
 * Starting a stack's commands (`berth up`): each in a process group of its own
 * (`detached: true` on POSIX), so berth can stop the whole tree a command
 * grows (`npm run dev` -> node -> vite) and the terminal's Ctrl-C reaches
 * berth alone, which then stops the services in order.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import type { ProcessExit, SpawnedProcess, Spawner, SpawnRequest } from '../../core/facts.js';
import { BerthError } from '../../errors.js';
import { readStartTime } from './stat.js';

/** After a process exits, how long to let its pipes drain before reporting the exit, in milliseconds. */
export const OUTPUT_DRAIN_MS = 100;

type Output = (stream: 'stdout' | 'stderr', text: string) => void;

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Starts `request` (see {@link Spawner.spawn}): a `shell` line through the
 * platform's shell (`/bin/sh -c`, `cmd.exe /d /s /c`), an `exec` argv directly.
 *
 * @example
 * const p = await spawnInGroup({ command: { kind: 'exec', argv: ['node', 'api.js'] }, cwd, env });
 * p.onOutput((stream, text) => process.stdout.write(text));
 * console.log(await p.exited); // { code: 0, signal: null }
 */
export async function spawnInGroup(request: SpawnRequest): Promise<SpawnedProcess> {
  if (!isFolder(request.cwd)) {
    throw new BerthError('E_NOT_FOUND', `the folder ${request.cwd} does not exist. Fix the service's cwd.`, {
      data: { cwd: request.cwd },
    });
  }
  const { command } = request;
  const [file, args, shell] =
    command.kind === 'shell'
      ? [command.line, [] as string[], true]
      : [command.argv[0], command.argv.slice(1), false];
  const windows = process.platform === 'win32';
  const child = spawn(file, args, {
    cwd: request.cwd,
    env: { ...request.env },
    shell,
    // A new process group on POSIX; on Windows `detached` would open a console window instead.
    detached: !windows,
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let listener: Output | null = null;
  const pending: [stream: 'stdout' | 'stderr', text: string][] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const pipe = child[stream]!;
    pipe.setEncoding('utf8');
    pipe.on('data', (text: string) => {
      if (listener) listener(stream, text);
      else pending.push([stream, text]);
    });
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  }).catch((error: NodeJS.ErrnoException) => {
    const what = command.kind === 'shell' ? 'the shell' : `"${file}"`;
    throw new BerthError(
      'E_NOT_FOUND',
      `cannot run ${what}: ${error.code ?? error.message}. Check the service's command.`,
      { data: { command: file }, cause: error },
    );
  });
  // After a successful spawn only kill() can fail; the exit decides what happened.
  child.on('error', () => {});
  const pid = child.pid!;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      const done = () => resolve({ code, signal });
      // 'close' waits for the pipes, which a grandchild may hold open for ever: wait a little only.
      const timer = setTimeout(done, OUTPUT_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
  });
  return {
    pid,
    pgid: windows ? null : pid,
    startTime: readStartTime(pid),
    onOutput(fn) {
      listener = fn;
      for (const [stream, text] of pending.splice(0)) fn(stream, text);
    },
    exited,
  };
}

/**
 * The {@link Spawner} the composition runs on: {@link spawnInGroup}.
 *
 * @example
 * const spawner = createSpawner();
 */
export function createSpawner(): Spawner {
  return { spawn: spawnInGroup };
}
