/**
 * Unpacks the Chromium that the @sparticuz/chromium dev dependency ships (brotli archives
 * inside the npm package, Linux x64) into a cache under the temp dir, once per version.
 *
 * The package itself unpacks into `os.tmpdir()` and trusts any `chromium` it finds there,
 * so a half-written binary from an interrupted run, another version's binary, or two test
 * runs unpacking at once would all be launched as if good. Here it unpacks in a child
 * process whose TMPDIR is a fresh staging folder, which is then renamed into place whole:
 * the cache folder exists only once complete, and its name carries the version.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/** What launches the unpacked browser. */
export interface UnpackedChromium {
  /** The `chromium` binary in the cache folder. */
  executablePath: string;
  /** The package's recommended flags (`chromium.args`). */
  args: string[];
}

/** Written last into the staging folder: the flags, read back on later runs. */
const LAUNCH_FILE = 'berth-launch.json';

/** Run with TMPDIR set to the staging folder; prints the binary's path and the package's flags. */
const UNPACK_SCRIPT = `
const { default: chromium } = await import(process.argv[1]);
const executablePath = await chromium.executablePath();
process.stdout.write(JSON.stringify({ executablePath, args: chromium.args }));
`;

/** Unpacking 67 MB of brotli takes about 3 s on an idle core. */
const UNPACK_TIMEOUT_MS = 60_000;

/** The package's folder and version, found from its entry point (its exports hide package.json). */
function sparticuzPackage(): { entry: string; version: string } {
  const entry = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      name?: string;
      version?: string;
    };
    if (name === '@sparticuz/chromium' && version) return { entry, version };
  }
  throw new Error(`Found @sparticuz/chromium at ${entry} but not its package.json: run npm install again.`);
}

/** What a cache folder holds once complete: the binary, the GL libraries it loads at start, the flags. */
const CACHE_FILES = ['chromium', 'libEGL.so', 'libGLESv2.so', LAUNCH_FILE];

/** Reads a complete cache folder, or returns undefined when it is missing or incomplete. */
function readCache(home: string): UnpackedChromium | undefined {
  // A temp cleaner may have removed files from an old cache folder.
  if (!CACHE_FILES.every((file) => existsSync(join(home, file)))) return undefined;
  const { args } = JSON.parse(readFileSync(join(home, LAUNCH_FILE), 'utf8')) as { args: string[] };
  return { executablePath: join(home, 'chromium'), args };
}

/** Moves an incomplete cache folder aside before deleting it, so no run ever sees it half-deleted. */
function discard(home: string): void {
  const aside = `${home}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(home, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another run moved it first
    throw error;
  }
  rmSync(aside, { recursive: true, force: true });
}

/**
 * Returns the unpacked browser, unpacking it first when this version's cache folder
 * (`$TMPDIR/berth-test-chromium-<version>-<uid>`) is not there yet.
 */
export async function unpackSparticuz(): Promise<UnpackedChromium> {
  const { entry, version } = sparticuzPackage();
  const home = join(tmpdir(), `berth-test-chromium-${version}-${userInfo().uid}`);
  const cached = readCache(home);
  if (cached) return cached;
  if (existsSync(home)) discard(home);
  const staging = mkdtempSync(`${home}.partial-`);
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', UNPACK_SCRIPT, pathToFileURL(entry).href],
      { env: { ...process.env, TMPDIR: staging }, timeout: UNPACK_TIMEOUT_MS },
    );
    const { executablePath, args } = JSON.parse(stdout) as UnpackedChromium;
    if (executablePath !== join(staging, 'chromium')) {
      throw new Error(`@sparticuz/chromium unpacked to ${executablePath}, not into ${staging}`);
    }
    writeFileSync(join(staging, LAUNCH_FILE), JSON.stringify({ version, args }));
    try {
      renameSync(staging, home);
    } catch (error) {
      // Another test run renamed its own complete copy into place first: use that one.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const unpacked = readCache(home);
  if (!unpacked) {
    throw new Error(
      `Unpacked @sparticuz/chromium ${version} but ${home} is incomplete: delete it, then run again.`,
    );
  }
  return unpacked;
}
