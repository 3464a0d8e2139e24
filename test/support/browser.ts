/**
 * The browser for browser tests, so that `npm test` needs nothing but Node: one the
 * machine already has, else the Linux x64 Chromium inside the `@sparticuz/chromium`
 * dev dependency. Where neither can be had, launching fails with one line that says
 * how to supply one; the tests are never skipped.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { type Browser, chromium, type LaunchOptions } from 'playwright-core';
import { unpackSparticuz } from './sparticuz.js';

/** Variables that name a browser executable, first wins; CHROME_PATH is the one chrome-launcher reads. */
export const BROWSER_VARIABLES = ['BERTH_TEST_BROWSER', 'CHROME_PATH'] as const;

/** Names looked up on PATH, in this order. */
export const PATH_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

/** Where the macOS installers put the browsers. */
export const MACOS_APPS = [
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
] as const;

/**
 * Headless as root in a closed network: no sandbox (it refuses to start as root), no GPU,
 * and nothing that calls home (this machine refuses those connections, many at a time).
 * playwright-core adds a fresh temp --user-data-dir itself.
 */
export const HEADLESS_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/**
 * Flags of @sparticuz/chromium's `args` that the tests leave out: its own spelling of
 * headless (HEADLESS_ARGS has one), and the two that relax the page's security, which
 * the dashboard test checks runs clean under its strict policy.
 */
const SPARTICUZ_ARGS_LEFT_OUT = ['--disable-web-security', '--allow-running-insecure-content'];

/** Which browser the tests will launch, or why there is none. */
export type BrowserChoice =
  | { source: 'env'; variable: (typeof BROWSER_VARIABLES)[number]; executablePath: string }
  | { source: 'path'; executablePath: string }
  | { source: 'macos-app'; executablePath: string }
  | { source: 'sparticuz' }
  | { source: 'missing'; message: string };

/** What the finder may look at; tests pass a fake one. */
export interface BrowserHost {
  /** The environment (BERTH_TEST_BROWSER, CHROME_PATH, PATH). */
  env: Record<string, string | undefined>;
  /** `process.platform`. */
  platform: string;
  /** `process.arch`. */
  arch: string;
  /** True when `path` is an executable file. */
  exists(path: string): boolean;
  /** True when the @sparticuz/chromium package can be imported. */
  sparticuzInstalled: boolean;
}

/**
 * Picks the browser: BERTH_TEST_BROWSER or CHROME_PATH; then chromium, chromium-browser,
 * google-chrome, google-chrome-stable on PATH; then the macOS applications; then the
 * Chromium in @sparticuz/chromium (Linux x64 only). A variable that names no executable
 * is an error, not a reason to look elsewhere.
 */
export function findBrowser(host: BrowserHost): BrowserChoice {
  for (const variable of BROWSER_VARIABLES) {
    const executablePath = host.env[variable];
    if (!executablePath) continue;
    if (host.exists(executablePath)) return { source: 'env', variable, executablePath };
    return {
      source: 'missing',
      message: `${variable}=${executablePath} is not an executable file: point it at Chrome or Chromium, or unset it.`,
    };
  }
  const dirs = (host.env.PATH ?? '').split(host.platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const name of PATH_NAMES) {
    for (const dir of dirs) {
      const executablePath = `${dir.replace(/\/+$/, '')}/${name}`;
      if (host.exists(executablePath)) return { source: 'path', executablePath };
    }
  }
  if (host.platform === 'darwin') {
    const executablePath = MACOS_APPS.find((app) => host.exists(app));
    if (executablePath) return { source: 'macos-app', executablePath };
  }
  const linuxX64 = host.platform === 'linux' && host.arch === 'x64';
  if (linuxX64 && host.sparticuzInstalled) return { source: 'sparticuz' };
  const why = linuxX64
    ? 'the @sparticuz/chromium dev dependency is not installed either (npm install brings it)'
    : `@sparticuz/chromium ships one for Linux x64 only, and this is ${host.platform} ${host.arch}`;
  return {
    source: 'missing',
    message: `No Chrome or Chromium for the browser tests (none in ${BROWSER_VARIABLES.join(' or ')}, none named ${PATH_NAMES.join(', ')} on PATH, and ${why}): set BERTH_TEST_BROWSER=/path/to/chrome, or install chromium.`,
  };
}

/** A short name for the choice, for test titles. */
export function describeBrowser(choice: BrowserChoice): string {
  switch (choice.source) {
    case 'env':
      return `${choice.executablePath} (${choice.variable})`;
    case 'path':
    case 'macos-app':
      return choice.executablePath;
    case 'sparticuz':
      return '@sparticuz/chromium';
    case 'missing':
      return 'no browser';
  }
}

/** The failure to launch, with the next step when the cause is a known one. */
export function explainLaunchFailure(choice: BrowserChoice, error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  const missingLibrary = /error while loading shared libraries: (\S+?):/.exec(text)?.[1];
  if (choice.source === 'sparticuz' && missingLibrary) {
    return new Error(
      `The Chromium from @sparticuz/chromium needs ${missingLibrary}, which this machine lacks: install it (on Debian: apt-get install libnss3 libexpat1), or set BERTH_TEST_BROWSER=/path/to/chrome.`,
      { cause: error },
    );
  }
  return new Error(`Could not launch ${describeBrowser(choice)}: ${text}`, { cause: error });
}

/** True when `path` is a file this process may execute. */
function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when @sparticuz/chromium resolves from here. */
function sparticuzResolves(): boolean {
  try {
    createRequire(import.meta.url).resolve('@sparticuz/chromium');
    return true;
  } catch {
    return false;
  }
}

/** This machine, as the finder sees it. */
export function thisHost(): BrowserHost {
  return {
    env: process.env,
    platform: platform(),
    arch: arch(),
    exists: isExecutableFile,
    sparticuzInstalled: sparticuzResolves(),
  };
}

/** The options that launch `choice` headless; throws the choice's message when there is none. */
export async function launchOptions(choice: BrowserChoice): Promise<LaunchOptions> {
  switch (choice.source) {
    case 'missing':
      throw new Error(choice.message);
    case 'sparticuz': {
      const bundled = await unpackSparticuz();
      const extra = bundled.args.filter(
        (arg) => !arg.startsWith('--headless') && !SPARTICUZ_ARGS_LEFT_OUT.includes(arg),
      );
      return { executablePath: bundled.executablePath, args: [...HEADLESS_ARGS, ...extra] };
    }
    default:
      return { executablePath: choice.executablePath, args: [...HEADLESS_ARGS] };
  }
}

/** Launches the chosen browser with playwright-core. */
export async function launchBrowser(choice: BrowserChoice): Promise<Browser> {
  const options = await launchOptions(choice);
  try {
    return await chromium.launch(options);
  } catch (error) {
    throw explainLaunchFailure(choice, error);
  }
}
