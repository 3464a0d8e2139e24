/**
 * The `berth` command's first file (built to dist/cli/main.js, CommonJS). It runs the
 * CLI, one CommonJS bundle beside it (dist/cli/berth.js), from V8's code cache: parsing
 * and compiling the bundle's JavaScript is most of what a command's start costs over
 * `node -e 0` on Node 20, whose ES module loader has no compile cache. The first run
 * of a build compiles as usual and, as it exits, writes the cache: the bytecode of every
 * function it ran. Later runs deserialize it instead of parsing. Each command has a cache
 * of its own (`berth --version` first would leave `berth get` compiling its code for ever).
 *
 * The cache is code this process runs, so it lives only where no one else can write:
 * `$XDG_CACHE_HOME/berth` or `~/.cache/berth`, a folder of the user's own with no group or
 * world write (created 0700; any other folder is not used, and berth runs uncached). Its
 * file is named for the bundle's path, the Node version, the architecture, the bundle's
 * size, modification time and inode, and the command, so a rebuilt or reinstalled bundle
 * never meets an old cache (see `prune` for when caches go); V8 checks
 * its own version and flags and rejects a cache made by others (the run then compiles and
 * writes a new one). `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) runs uncached.
 * Nothing here may throw on a cache problem: every failure falls back to compiling.
 */
import {
  closeSync,
  fstatSync,
  futimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { COMMAND_NAMES } from './command-names.js';

const bundle = join(__dirname, 'berth.js');

/** The user's own cache folder for berth, or undefined when there is none that is safe to use. */
function cacheFolder(): string | undefined {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  try {
    // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
    const xdg = process.env.XDG_CACHE_HOME;
    const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
    const dir = join(base, 'berth');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    const uid = process.getuid?.();
    if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
      return undefined;
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** The cache of one command: a cache holds the functions of the run that wrote it. */
function cacheName(command: string | undefined): string {
  return command !== undefined && (COMMAND_NAMES as readonly string[]).includes(command) ? command : 'main';
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
      const mtimeMs = statSync(join(dir, name)).mtimeMs;
      const dead = temp ? now - mtimeMs > HOUR_MS : name.startsWith(place) || now - mtimeMs > UNUSED_MS;
      if (dead) rmSync(join(dir, name), { force: true });
      else if (!temp) kept.push({ name, mtimeMs });
    } catch {
      // Removed by another run meanwhile.
    }
  }
  kept.sort((x, y) => y.mtimeMs - x.mtimeMs);
  for (const { name } of kept.slice(MAX_CACHES)) rmSync(join(dir, name), { force: true });
}

/** The cache in `file`, marked as used (its time, once a day, keeps {@link prune} off it); undefined when there is none. */
function readCache(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    if (Date.now() - fstatSync(fd).mtimeMs > DAY_MS) futimesSync(fd, new Date(), new Date());
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function run(): void {
  const fd = openSync(bundle, 'r');
  let source: string;
  const place = `cli-${pathHash(bundle)}-${process.version}-${process.arch}-`;
  let build: string;
  try {
    const stat = fstatSync(fd);
    build = `${place}${stat.size}-${Math.trunc(stat.mtimeMs)}-${stat.ino}-`;
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const dir = cacheFolder();
  const key = `${build}${cacheName(process.argv[2])}.bin`;
  const cacheFile = dir === undefined ? undefined : join(dir, key);
  const cachedData = cacheFile === undefined ? undefined : readCache(cacheFile);
  const script = new Script(Module.wrap(source), {
    filename: bundle,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      const temp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
        renameSync(temp, cacheFile);
        prune(dir!, place, build);
      } catch {
        // A full disk or a folder gone: the next run compiles again.
      }
    });
  }
  const module = new Module(bundle, require.main);
  module.filename = bundle;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    __dirname,
  );
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, __dirname);
}

run();
