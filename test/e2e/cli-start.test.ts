/**
 * The `berth` bin's start (src/cli/start.ts): the CLI bundle runs from V8's code cache,
 * kept in the user's own cache folder and nowhere else.
 */
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { berth, type Sandbox, sandbox } from '../helpers.js';

let box: Sandbox;

afterEach(() => box?.cleanup());

/** A sandbox whose XDG_CACHE_HOME is a folder of its own; returns berth's cache folder in it. */
function fresh(): string {
  box = sandbox();
  const xdg = join(box.home, '..', 'xdg');
  box.env.XDG_CACHE_HOME = xdg;
  delete box.env.NODE_DISABLE_COMPILE_CACHE;
  return join(xdg, 'berth');
}

const run = (args: string[]) => berth(args, { cwd: box.dir, env: box.env });
const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.bin'));
const version = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).version as string;

describe('the CLI code cache', () => {
  it('the first run of a command writes its cache (0600 in a 0700 folder); later runs use it as it is and answer the same', async () => {
    const dir = fresh();
    const first = await run(['--version']);
    expect(first).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    const [main] = caches(dir);
    expect(main).toMatch(
      new RegExp(`^cli-[0-9a-z]+-${process.version}-${process.arch}-\\d+-\\d+-\\d+-main\\.bin$`),
    );
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, main!)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, main!)).length).toBeGreaterThan(10_000);
    // `get` has a cache of its own: the one of --version holds none of get's functions.
    box.writeConfig({ project: 'shop', services: { server: {} } });
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const res = await run(['get', 'server', '--json']);
      expect(res.code, res.stderr).toBe(0);
      answers.push(JSON.parse(res.stdout));
      if (i === 0) {
        expect(caches(dir).sort()).toEqual([main!.replace(/main\.bin$/, 'get.bin'), main].sort());
        // A cache V8 accepts is not written again (a rejected one would be).
        const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
        for (const file of caches(dir)) utimesSync(join(dir, file), past, past);
      }
    }
    // The same lease: the second run keeps the port the first one assigned.
    expect(answers[1]).toMatchObject({ service: 'server', port: answers[0].port, strategy: 'sticky' });
    for (const file of caches(dir))
      expect(statSync(join(dir, file)).mtimeMs).toBeLessThan(Date.now() - 50_000);
  });

  it('a damaged cache is rejected and replaced; the command runs as usual', async () => {
    const dir = fresh();
    await run(['--version']);
    const [file] = caches(dir);
    const garbage = Buffer.alloc(readFileSync(join(dir, file!)).length, 7);
    writeFileSync(join(dir, file!), garbage);
    const res = await run(['--version']);
    expect(res).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    const now = readFileSync(join(dir, file!));
    expect(now.equals(garbage)).toBe(false);
    expect(now.length).toBeGreaterThan(10_000);
  });

  it('a cache folder others may write to is not used, nor is any with NODE_DISABLE_COMPILE_CACHE', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(caches(dir)).toEqual([]);
    chmodSync(dir, 0o700);
    box.env.NODE_DISABLE_COMPILE_CACHE = '1';
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(caches(dir)).toEqual([]);
  });

  it('removes the caches of an earlier build at the same path, others unused for 30 days, the oldest beyond 64, and dead temporary files', async () => {
    const dir = fresh();
    expect((await run(['--version'])).code).toBe(0);
    const [current] = caches(dir);
    // cli-<path hash>-<node>-<arch>-  <size>-<mtime>-<inode>-  <command>.bin
    const [, place, build] = /^(cli-[0-9a-z]+-v[\d.]+-\w+-)(\d+-\d+-\d+-)main\.bin$/.exec(current!)!;
    const elsewhere = (n: number) => `cli-zz${n}-v0.0.1-x64-1-1-1-get.bin`;
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
    const files: Record<string, Date> = {
      [`${place}1-1-1-get.bin`]: ago(0), // this path, an earlier build: gone
      [elsewhere(0)]: ago(31), // elsewhere, unused for 31 days: gone
      [`${elsewhere(1)}.123.tmp`]: ago(1 / 12), // a run died writing 2 hours ago: gone
      [`${elsewhere(2)}.456.tmp`]: ago(1 / 48), // 30 minutes ago: maybe still writing
      'notes.txt': ago(100), // not berth's
    };
    // 70 more from elsewhere, the newest used a minute ago, each older by a minute.
    for (let i = 1; i <= 70; i++) files[elsewhere(100 + i)] = new Date(Date.now() - i * 60_000);
    for (const [name, time] of Object.entries(files)) {
      writeFileSync(join(dir, name), 'x');
      utimesSync(join(dir, name), time, time);
    }
    // `get --help`: a command without a cache yet, so this run writes one and prunes.
    expect((await run(['get', '--help'])).code).toBe(0);
    const left = new Set(readdirSync(dir));
    expect(left.has(`${place}1-1-1-get.bin`)).toBe(false);
    expect(left.has(elsewhere(0))).toBe(false);
    expect(left.has(`${elsewhere(1)}.123.tmp`)).toBe(false);
    expect(left.has(`${elsewhere(2)}.456.tmp`)).toBe(true);
    expect(left.has('notes.txt')).toBe(true);
    // 64 caches in all: this build's two, and the 62 most recently used of the rest.
    expect(caches(dir)).toHaveLength(64);
    expect(left.has(current!) && left.has(`${place}${build}get.bin`)).toBe(true);
    for (let i = 1; i <= 70; i++) expect(left.has(elsewhere(100 + i)), `cache ${i}`).toBe(i <= 62);
  });
});
