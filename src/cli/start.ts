/**
 * The `berth` command's first file (built to dist/cli/main.js, CommonJS). It runs the
 * CLI, one CommonJS bundle beside it (dist/cli/berth.js), from V8's code cache: parsing
 * and compiling the bundle's JavaScript is most of what a command's start costs over
 * `node -e 0` on Node 20, whose ES module loader has no compile cache. The first run
 * of a build compiles as usual and, as it exits, writes the cache: the bytecode of every
 * function it ran. Later runs deserialize it instead of parsing. Each command has a cache
 * of its own (`berth --version` first would leave `berth get` compiling its code for ever).
 *
 * The cache is code this process runs, so it is read only from where no one else can write:
 * `$XDG_CACHE_HOME/berth` or `~/.cache/berth`, a folder of the user's own with no group or
 * world write (created 0700 in a base folder of the user's own; otherwise berth runs
 * uncached), and only a plain file of the user's own (links are not followed); it is
 * written to a new file and renamed into place. Its name holds the bundle's path, the Node
 * version, the architecture, a hash of the V8 flags (NODE_OPTIONS, execArgv), the bundle's
 * SHA-256 (from the build) with its size, modification time and inode, and the command: V8
 * itself checks little more than the source's length, so a cache is read only by the very
 * build that wrote it (see `prune` for when caches go). A cache V8 rejects anyway is
 * compiled past and rewritten. `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) runs uncached.
 * Nothing here may throw on a cache problem: every failure falls back to compiling.
 */
import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { errorBody } from '../errors.js';
import { isCommandName } from './command-names.js';
import { EXIT_FAILURE } from './exit.js';
import { ownArguments } from './own-arguments.js';

/** The first 16 hex digits of the bundle's SHA-256, written in by scripts/build.mjs. */
declare const __BERTH_BUNDLE_HASH__: string;

const bundle = join(__dirname, 'berth.js');
const uid = process.getuid?.();

/** Whether `stat` is of this user's and no one else may write to it. */
function own(stat: Stats): boolean {
  return (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}

/** A cache folder to use, or why there is none (said under BERTH_DEBUG=1). */
type Folder = { dir: string } | { why: string };

/**
 * The user's own cache folder for berth, or why there is none that is safe to use. The
 * base folder (`$XDG_CACHE_HOME`, `~/.cache`) must be the user's own, and is made (0700,
 * with any missing folders above it) only inside a folder of the user's own: root under
 * `sudo` with a user's HOME uses no cache and creates nothing there. The `berth` folder in
 * it must be a folder, not a link, of the user's own. A folder others may write to is never used.
 */
function cacheFolder(): Folder {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return { why: 'NODE_DISABLE_COMPILE_CACHE is set' };
  try {
    // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
    const xdg = process.env.XDG_CACHE_HOME;
    const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
    if (!ownFolder(base, statSync))
      return { why: `${base} is not a folder of this user's that only it may write to` };
    const dir = join(base, 'berth');
    if (!ownFolder(dir, lstatSync))
      return { why: `${dir} is not a folder of this user's that only it may write to` };
    return { dir };
  } catch (error) {
    return { why: String((error as Error).message ?? error) };
  }
}

/** Whether `path` is a folder of the user's own (see {@link own}); made, if missing, under the nearest folder there is when that one is the user's own. */
function ownFolder(path: string, stat: (path: string) => Stats): boolean {
  let found: Stats;
  try {
    found = stat(path);
  } catch {
    const nearest = nearestExisting(dirname(path));
    if (nearest === undefined || !nearest.isDirectory() || !own(nearest)) return false;
    mkdirSync(path, { recursive: true, mode: 0o700 });
    found = lstatSync(path);
  }
  return found.isDirectory() && own(found);
}

/** What is at `path`, or at the nearest folder above it that exists; undefined when nothing does. */
function nearestExisting(path: string): Stats | undefined {
  for (let at = path; ; at = dirname(at)) {
    try {
      return statSync(at);
    } catch {
      if (dirname(at) === at) return undefined;
    }
  }
}

/**
 * The cache of one command (a cache holds the functions of the run that wrote it): `main`
 * for no command, an unknown one, and help (`berth get --help` would leave `get`'s cache
 * without the functions that get a port).
 */
function cacheName(argv: string[]): string {
  const [command, ...rest] = ownArguments(argv);
  if (rest.includes('--help') || rest.includes('-h')) return 'main';
  return command !== undefined && isCommandName(command) ? command : 'main';
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Caches of builds elsewhere (another install, a copy) not used for this long are removed. */
const UNUSED_MS = 30 * DAY_MS;
/** At most this many caches are kept, the most recently used: a checkout rebuilt all day makes many. */
const MAX_CACHES = 64;

/** FNV-1a of `text`, in base 36: names the bundle's path in cache file names (node:crypto costs ~2 ms to load). */
function pathHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}

/**
 * Removes what no run will read again: the caches of an earlier build at this bundle's path
 * and Node version (the bundle was rebuilt or reinstalled), caches of builds elsewhere unused
 * for {@link UNUSED_MS}, the least recently used beyond {@link MAX_CACHES}, and temporary
 * files of runs that died writing.
 */
function prune(dir: string, place: string, build: string): void {
  const now = Date.now();
  const kept: { name: string; mtimeMs: number }[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('cli-')) continue;
    try {
      const temp = name.endsWith('.tmp');
      if (!temp && name.startsWith(build)) {
        kept.push({ name, mtimeMs: now });
        continue;
      }
      const mtimeMs = lstatSync(join(dir, name)).mtimeMs;
      const dead = temp ? now - mtimeMs > HOUR_MS : name.startsWith(place) || now - mtimeMs > UNUSED_MS;
      if (dead) rmSync(join(dir, name), { force: true });
      else if (!temp) kept.push({ name, mtimeMs });
    } catch {
      // Removed by another run meanwhile.
    }
  }
  kept.sort((x, y) => y.mtimeMs - x.mtimeMs);
  for (const { name } of kept.slice(MAX_CACHES)) {
    try {
      rmSync(join(dir, name), { force: true });
    } catch {
      // Not a file (a folder of that name): left alone.
    }
  }
}

/**
 * The cache in `file`, marked as used (its time, once a day, keeps {@link prune} off it);
 * undefined when there is none, or when it is not a plain file of the user's own that no one
 * else may write (a link is not followed): the cache is code this process runs.
 */
function readCache(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || !own(stat)) return undefined;
    if (Date.now() - stat.mtimeMs > DAY_MS) futimesSync(fd, new Date(), new Date());
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Says that the CLI cannot start (its bundle missing, damaged or not berth's), as the CLI
 * says any failure: one line on stderr and, with berth's own `--json`, the error on stdout.
 */
function cannotStart(problem: string): void {
  const message = `${problem}. Reinstall berth-ports, or run \`npm run build\` in its checkout.`;
  process.stderr.write(`berth: ${message}\n`);
  if (ownArguments(process.argv.slice(2)).includes('--json')) {
    process.stdout.write(
      `${JSON.stringify(errorBody('E_INTERNAL', message, { data: { file: bundle } }), null, 2)}\n`,
    );
  }
  process.exitCode = EXIT_FAILURE;
}

/** The bundle's source and the part of the cache's name that is this build's, or undefined (said). */
function readBundle(): { source: string; build: string } | undefined {
  try {
    const fd = openSync(bundle, 'r');
    try {
      const stat = fstatSync(fd);
      // The content's hash, and the file's identity for a bundle edited in place (V8 itself checks only the length).
      const build = `${__BERTH_BUNDLE_HASH__}-${stat.size}-${Math.trunc(stat.mtimeMs)}-${stat.ino}-`;
      return { source: readFileSync(fd, 'utf8'), build };
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    cannotStart(`cannot read ${bundle} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return undefined;
  }
}

/** The compiled bundle, or undefined when it is not JavaScript (said). */
function compile(source: string, cachedData: Buffer | undefined): Script | undefined {
  try {
    return new Script(Module.wrap(source), {
      filename: bundle,
      ...(cachedData === undefined ? {} : { cachedData }),
    });
  } catch (error) {
    cannotStart(`${bundle} is damaged (${(error as Error).name}: ${(error as Error).message})`);
    return undefined;
  }
}

function run(): void {
  const read = readBundle();
  if (read === undefined) return;
  // Where caches of this bundle's path, Node version and V8 flags go (V8 rejects a cache made
  // under other flags, such as NODE_OPTIONS=--max-old-space-size: each set keeps its own).
  const flags = pathHash(`${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`);
  const place = `cli-${pathHash(bundle)}-${process.version}-${process.arch}-${flags}-`;
  const build = `${place}${read.build}`;
  const folder = cacheFolder();
  if ('why' in folder && process.env.BERTH_DEBUG)
    process.stderr.write(`berth: no code cache: ${folder.why}\n`);
  const dir = 'dir' in folder ? folder.dir : undefined;
  const key = `${build}${cacheName(process.argv.slice(2))}.bin`;
  const cacheFile = dir === undefined ? undefined : join(dir, key);
  const cachedData = cacheFile === undefined ? undefined : readCache(cacheFile);
  const script = compile(read.source, cachedData);
  if (script === undefined) return;
  const module = new Module(bundle, require.main);
  module.filename = bundle;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    __dirname,
  );
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      // A bundle that did not run to its end writes no cache.
      if (module.exports.complete !== true) return;
      const temp = `${cacheFile}.${process.pid}.tmp`;
      try {
        // 'wx': a new file, never through a link another process left at that name.
        writeFileSync(temp, script.createCachedData(), { mode: 0o600, flag: 'wx' });
        renameSync(temp, cacheFile);
        prune(dir!, place, build);
      } catch {
        // A full disk, a folder gone, a name taken: the next run compiles again.
        try {
          rmSync(temp, { force: true });
        } catch {
          // Nothing of ours to remove.
        }
      }
    });
  }
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, __dirname);
  // The bundle's last line (the build's footer) marks it complete: an empty or cut file runs
  // without error and would do nothing, or half, which must not pass for a command that succeeded.
  const cli = module.exports as { complete?: boolean; start?: () => void };
  if (cli.complete !== true || typeof cli.start !== 'function') {
    cannotStart(`${bundle} is incomplete (it does not end as berth's CLI does)`);
    return;
  }
  cli.start();
}

run();
