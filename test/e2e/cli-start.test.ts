/**
 * The `berth` bin's start (src/cli/start.ts): the CLI bundle runs from V8's code cache,
 * kept in the user's own cache folder, read only from files of the user's own.
 */
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { berth, CLI, type Sandbox, sandbox } from '../helpers.js';

let box: Sandbox;

afterEach(() => box?.cleanup());

/** A sandbox whose XDG_CACHE_HOME is a folder not made yet; returns berth's cache folder in it. */
function fresh(): string {
  box = sandbox();
  const xdg = join(box.home, '..', 'xdg');
  box.env.XDG_CACHE_HOME = xdg;
  delete box.env.NODE_DISABLE_COMPILE_CACHE;
  delete box.env.NODE_OPTIONS;
  return join(xdg, 'berth');
}

const run = (args: string[]) => berth(args, { cwd: box.dir, env: box.env });
const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.bin'));
const version = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).version as string;
const printsVersion = { code: 0, stdout: `${version}\n`, stderr: '' };
/** cli-<path hash>-<node>-<arch>-<flags hash>- <bundle sha256>-<size>-<mtime>-<inode>- <command>.bin */
const NAME = /^(cli-[0-9a-z]+-v[\d.]+-\w+-[0-9a-z]+-)([0-9a-f]{16}-\d+-\d+-\d+-)(\w+)\.bin$/;

/** The one cache `--version` writes in a fresh folder: its name's parts. */
async function firstCache(dir: string) {
  expect(await run(['--version'])).toMatchObject(printsVersion);
  const [file] = caches(dir);
  const [, place, build, command] = NAME.exec(file ?? '') ?? [];
  expect(command).toBe('main');
  return { file: file!, place: place!, build: build! };
}

describe('the CLI code cache', () => {
  it('the first run of a command writes its cache (0600 in a 0700 folder); later runs use it as it is and answer the same', async () => {
    const dir = fresh();
    const { file: main, place, build } = await firstCache(dir);
    expect(place.startsWith('cli-') && place.includes(`-${process.version}-${process.arch}-`)).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, main)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, main)).length).toBeGreaterThan(10_000);
    // `get` has a cache of its own: the one of --version holds none of get's functions.
    // Its help does not write it (that cache would hold none of the functions that get a port).
    box.writeConfig({ project: 'shop', services: { server: {} } });
    expect((await run(['get', '--help'])).code).toBe(0);
    expect(caches(dir)).toEqual([main]);
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const res = await run(['get', 'server', '--json']);
      expect(res.code, res.stderr).toBe(0);
      answers.push(JSON.parse(res.stdout));
      if (i === 0) {
        expect(caches(dir).sort()).toEqual([`${place}${build}get.bin`, main].sort());
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

  it('other V8 flags (NODE_OPTIONS) get a cache of their own, which V8 accepts', async () => {
    const dir = fresh();
    const { file } = await firstCache(dir);
    box.env.NODE_OPTIONS = '--max-old-space-size=200';
    for (let i = 0; i < 2; i++) expect(await run(['--version'])).toMatchObject(printsVersion);
    const both = caches(dir);
    expect(both).toHaveLength(2);
    const other = both.find((f) => f !== file)!;
    // Same bundle and Node, other flags: a name apart, so neither run rewrites or prunes the other's.
    expect(NAME.exec(other)![1]).not.toBe(NAME.exec(file)![1]);
    expect(NAME.exec(other)![2]).toBe(NAME.exec(file)![2]);
  });

  it('a damaged cache is rejected and replaced; the command runs as usual', async () => {
    const dir = fresh();
    const { file } = await firstCache(dir);
    const garbage = Buffer.alloc(readFileSync(join(dir, file)).length, 7);
    writeFileSync(join(dir, file), garbage);
    expect(await run(['--version'])).toMatchObject(printsVersion);
    const now = readFileSync(join(dir, file));
    expect(now.equals(garbage)).toBe(false);
    expect(now.length).toBeGreaterThan(10_000);
  });

  it('reads no cache others may write or that is a link, and replaces it without following the link', async () => {
    const dir = fresh();
    const { file } = await firstCache(dir);
    const good = readFileSync(join(dir, file));
    // Group-writable: not read (a valid cache, so only the mode can make the run rewrite it).
    chmodSync(join(dir, file), 0o660);
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, file), past, past);
    expect(await run(['--version'])).toMatchObject(printsVersion);
    expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, file)).mtimeMs).toBeGreaterThan(past.getTime() + 1000);
    // A link to a file elsewhere: not read, and the file it points to is left as it was.
    const target = join(box.home, '..', 'elsewhere.bin');
    writeFileSync(target, good);
    copyFileSync(target, `${target}.copy`);
    rmSync(join(dir, file));
    symlinkSync(target, join(dir, file));
    expect(await run(['--version'])).toMatchObject(printsVersion);
    expect(readFileSync(target).equals(readFileSync(`${target}.copy`))).toBe(true);
    // The link itself was replaced by a cache of this run's.
    expect(lstatSync(join(dir, file)).isFile()).toBe(true);
  });

  it('uses no cache folder others may write to, or inside a base folder others may write to, nor any with NODE_DISABLE_COMPILE_CACHE', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    expect(await run(['--version'])).toMatchObject(printsVersion);
    expect(caches(dir)).toEqual([]);
    // A base folder (XDG_CACHE_HOME) others may write to: berth makes nothing in it.
    const open = join(box.home, '..', 'open-xdg');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    expect(
      await berth(['--version'], { cwd: box.dir, env: { ...box.env, XDG_CACHE_HOME: open } }),
    ).toMatchObject(printsVersion);
    expect(readdirSync(open)).toEqual([]);
    chmodSync(dir, 0o700);
    box.env.NODE_DISABLE_COMPILE_CACHE = '1';
    expect(await run(['--version'])).toMatchObject(printsVersion);
    expect(caches(dir)).toEqual([]);
  });

  it('removes the caches of an earlier build at the same path, others unused for 30 days, the oldest beyond 64, and dead temporary files', async () => {
    const dir = fresh();
    const { file: current, place, build } = await firstCache(dir);
    const elsewhere = (n: number) => `cli-zz${n}-v0.0.1-x64-0-0000000000000000-1-1-1-get.bin`;
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
    const earlier = `${place}0000000000000000-1-1-1-get.bin`;
    const files: Record<string, Date> = {
      [earlier]: ago(0), // this path, Node and flags, an earlier build: gone
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
    // `ls`: a command without a cache yet, so this run writes one and prunes.
    box.writeConfig({ project: 'shop', services: { server: {} } });
    const ls = await run(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    const left = new Set(readdirSync(dir));
    expect(left.has(earlier)).toBe(false);
    expect(left.has(elsewhere(0))).toBe(false);
    expect(left.has(`${elsewhere(1)}.123.tmp`)).toBe(false);
    expect(left.has(`${elsewhere(2)}.456.tmp`)).toBe(true);
    expect(left.has('notes.txt')).toBe(true);
    // 64 caches in all: this build's two, and the 62 most recently used of the rest.
    expect(caches(dir)).toHaveLength(64);
    expect(left.has(current) && left.has(`${place}${build}ls.bin`)).toBe(true);
    for (let i = 1; i <= 70; i++) expect(left.has(elsewhere(100 + i)), `cache ${i}`).toBe(i <= 62);
  });

  it('a bin whose bundle is missing, damaged or cut short says what to do: exit 1, no stack trace, the error as JSON with --json', async () => {
    box = sandbox();
    const bin = join(box.home, '..', 'bin');
    mkdirSync(bin);
    copyFileSync(CLI, join(bin, 'main.js'));
    writeFileSync(join(bin, 'package.json'), '{"type":"commonjs"}\n');
    const bundle = join(bin, 'berth.js');
    const runBin = (args: string[]) => berth(args, { cwd: box.dir, env: box.env, bin: join(bin, 'main.js') });
    const fix = 'Reinstall berth-ports, or run `npm run build` in its checkout.';
    const missing = await runBin(['--version']);
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `berth: cannot read ${bundle} (ENOENT). ${fix}\n`,
    });
    writeFileSync(bundle, 'this is not js(');
    const damaged = await runBin(['ls', '--json']);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(
      new RegExp(`^berth: ${bundle} is damaged \\(SyntaxError: [^\\n]+\\)\\. Reinstall`),
    );
    expect(damaged.stderr.split('\n')).toHaveLength(2);
    expect(JSON.parse(damaged.stdout)).toMatchObject({
      success: false,
      error: { code: 'E_INTERNAL', data: { file: bundle } },
    });
    // Valid JavaScript that does nothing (an empty or cut file) is no success either.
    const full = readFileSync(join(CLI, '..', 'berth.js'), 'utf8');
    for (const text of ['', full.slice(0, full.lastIndexOf('\n', full.length - 2) + 1)]) {
      writeFileSync(bundle, text);
      expect(await runBin(['--version'])).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `berth: ${bundle} is incomplete (it does not end as berth's CLI does). ${fix}\n`,
      });
    }
    // The whole bundle runs (--help: this copy is outside the package, whose version it cannot read).
    writeFileSync(bundle, full);
    const help = await runBin(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: berth <command> [options]');
  });

  it('makes missing folders above its own (0700); BERTH_DEBUG=1 says why a cache is not used', async () => {
    const dir = fresh();
    const deep = join(box.home, '..', 'a', 'b', 'c');
    expect(
      await berth(['--version'], { cwd: box.dir, env: { ...box.env, XDG_CACHE_HOME: deep } }),
    ).toMatchObject(printsVersion);
    expect(caches(join(deep, 'berth'))).toHaveLength(1);
    expect(statSync(join(box.home, '..', 'a')).mode & 0o777).toBe(0o700);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const why = await run(['--version']);
    expect(why).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(why.stderr).toBe('');
    const said = await berth(['--version'], { cwd: box.dir, env: { ...box.env, BERTH_DEBUG: '1' } });
    expect(said.stderr).toBe(
      `berth: no code cache: ${dir} is not a folder of this user's that only it may write to\n`,
    );
  });
});
