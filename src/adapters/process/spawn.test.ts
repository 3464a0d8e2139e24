import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpawnedProcess } from '../../core/facts.js';
import { isBerthError } from '../../errors.js';
import { createProcessGroups } from './group.js';
import { spawnInGroup } from './spawn.js';

const node = process.execPath;
const env = { PATH: process.env.PATH ?? '', GREETING: 'hello' };
const started: SpawnedProcess[] = [];
const folders: string[] = [];

afterEach(() => {
  const groups = createProcessGroups();
  for (const p of started.splice(0)) groups.signal(p, 'SIGKILL');
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

async function run(argv: [string, ...string[]], cwd = process.cwd()) {
  const p = await spawnInGroup({ command: { kind: 'exec', argv }, cwd, env });
  started.push(p);
  let out = '';
  let err = '';
  p.onOutput((stream, text) => {
    if (stream === 'stdout') out += text;
    else err += text;
  });
  const exit = await p.exited;
  return { p, out, err, exit };
}

describe.skipIf(process.platform === 'win32')('spawnInGroup', () => {
  it('runs an argv without a shell, with exactly the environment given, in its own process group', async () => {
    const { p, out, err, exit } = await run([
      node,
      '-e',
      'console.log(process.env.GREETING, Object.keys(process.env).includes("HOME")); console.error("to stderr"); process.exit(3)',
    ]);
    expect(out).toBe('hello false\n');
    expect(err).toBe('to stderr\n');
    expect(exit).toEqual({ code: 3, signal: null });
    expect(p.pgid).toBe(p.pid);
    if (process.platform === 'linux') expect(p.startTime).toMatch(/^\d+$/);
  });

  it('runs a string through the shell, in the folder given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-spawn-'));
    folders.push(dir);
    const p = await spawnInGroup({
      command: { kind: 'shell', line: `echo "$GREETING from $(pwd)" && exit 4` },
      cwd: dir,
      env,
    });
    started.push(p);
    let out = '';
    p.onOutput((_s, text) => {
      out += text;
    });
    expect(await p.exited).toEqual({ code: 4, signal: null });
    expect(out.trim()).toMatch(/^hello from .*berth-spawn-/);
  });

  it('keeps output that arrives before anyone listens', async () => {
    const p = await spawnInGroup({
      command: { kind: 'exec', argv: [node, '-e', 'console.log("early")'] },
      cwd: '.',
      env,
    });
    started.push(p);
    await p.exited;
    let out = '';
    p.onOutput((_s, text) => {
      out += text;
    });
    expect(out).toBe('early\n');
  });

  it('refuses a missing folder or program with E_NOT_FOUND and the fix', async () => {
    const missing = await spawnInGroup({
      command: { kind: 'exec', argv: [node] },
      cwd: '/no/such/folder',
      env,
    }).catch((e: unknown) => e);
    expect(isBerthError(missing, 'E_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toContain("Fix the service's cwd");
    const program = await spawnInGroup({
      command: { kind: 'exec', argv: ['berth-no-such-program'] },
      cwd: '.',
      env,
    }).catch((e: unknown) => e);
    expect(isBerthError(program, 'E_NOT_FOUND')).toBe(true);
    expect((program as Error).message).toContain('ENOENT');
  });
});
