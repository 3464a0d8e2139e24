import { describe, expect, it } from 'vitest';
import {
  type BrowserHost,
  explainLaunchFailure,
  findBrowser,
  HEADLESS_ARGS,
  launchOptions,
  MACOS_APPS,
} from './browser.js';

/** A Linux x64 host where only `files` exist, with @sparticuz/chromium installed. */
function host(files: string[], over: Partial<BrowserHost> = {}): BrowserHost {
  const present = new Set(files);
  return {
    env: { PATH: '/home/me/bin:/usr/local/bin:/usr/bin' },
    platform: 'linux',
    arch: 'x64',
    exists: (path) => present.has(path),
    sparticuzInstalled: true,
    ...over,
  };
}

describe('findBrowser', () => {
  it('takes BERTH_TEST_BROWSER before CHROME_PATH, and either before PATH', () => {
    const files = ['/opt/a/chrome', '/opt/b/chrome', '/usr/bin/chromium'];
    const env = { PATH: '/usr/bin', BERTH_TEST_BROWSER: '/opt/a/chrome', CHROME_PATH: '/opt/b/chrome' };
    expect(findBrowser(host(files, { env }))).toEqual({
      source: 'env',
      variable: 'BERTH_TEST_BROWSER',
      executablePath: '/opt/a/chrome',
    });
    expect(findBrowser(host(files, { env: { ...env, BERTH_TEST_BROWSER: '' } }))).toEqual({
      source: 'env',
      variable: 'CHROME_PATH',
      executablePath: '/opt/b/chrome',
    });
  });

  it('fails on a variable that names no executable, rather than quietly using another browser', () => {
    const env = { PATH: '/usr/bin', BERTH_TEST_BROWSER: '/nowhere/chrome' };
    const choice = findBrowser(host(['/usr/bin/chromium'], { env }));
    expect(choice).toEqual({
      source: 'missing',
      message:
        'BERTH_TEST_BROWSER=/nowhere/chrome is not an executable file: point it at Chrome or Chromium, or unset it.',
    });
  });

  it('prefers chromium anywhere on PATH to google-chrome earlier on it, and PATH order within a name', () => {
    expect(findBrowser(host(['/home/me/bin/google-chrome', '/usr/bin/chromium']))).toEqual({
      source: 'path',
      executablePath: '/usr/bin/chromium',
    });
    expect(findBrowser(host(['/usr/local/bin/chromium', '/usr/bin/chromium']))).toEqual({
      source: 'path',
      executablePath: '/usr/local/bin/chromium',
    });
    expect(findBrowser(host(['/usr/bin/google-chrome-stable', '/usr/bin/chromium-browser']))).toEqual({
      source: 'path',
      executablePath: '/usr/bin/chromium-browser',
    });
  });

  it('ignores empty PATH entries and trailing slashes', () => {
    const env = { PATH: '::/usr/bin/:' };
    expect(findBrowser(host(['/usr/bin/google-chrome'], { env }))).toEqual({
      source: 'path',
      executablePath: '/usr/bin/google-chrome',
    });
  });

  it('looks in the macOS applications on macOS only, after PATH', () => {
    const [chrome, chromium] = MACOS_APPS;
    const mac = { platform: 'darwin', arch: 'arm64' };
    expect(findBrowser(host([chromium], mac))).toEqual({ source: 'macos-app', executablePath: chromium });
    expect(findBrowser(host([chrome, chromium], mac))).toEqual({
      source: 'macos-app',
      executablePath: chrome,
    });
    expect(findBrowser(host([chrome, '/usr/bin/chromium'], mac))).toEqual({
      source: 'path',
      executablePath: '/usr/bin/chromium',
    });
    expect(findBrowser(host([chrome])).source).toBe('sparticuz');
  });

  it('falls back to @sparticuz/chromium on Linux x64 only', () => {
    expect(findBrowser(host([]))).toEqual({ source: 'sparticuz' });
    expect(findBrowser(host([], { arch: 'arm64' })).source).toBe('missing');
    expect(findBrowser(host([], { platform: 'darwin', arch: 'x64' })).source).toBe('missing');
  });

  it('fails with one line that says how to supply a browser', () => {
    const elsewhere = findBrowser(host([], { platform: 'darwin', arch: 'arm64' }));
    expect(elsewhere).toEqual({
      source: 'missing',
      message:
        'No Chrome or Chromium for the browser tests (none in BERTH_TEST_BROWSER or CHROME_PATH, none named chromium, chromium-browser, google-chrome, google-chrome-stable on PATH, and @sparticuz/chromium ships one for Linux x64 only, and this is darwin arm64): set BERTH_TEST_BROWSER=/path/to/chrome, or install chromium.',
    });
    const uninstalled = findBrowser(host([], { sparticuzInstalled: false }));
    expect(uninstalled.source === 'missing' && uninstalled.message).toMatch(
      /dev dependency is not installed either \(npm install brings it\)\): set BERTH_TEST_BROWSER=\/path\/to\/chrome, or install chromium\.$/,
    );
    for (const choice of [elsewhere, uninstalled]) {
      expect(choice.source === 'missing' && choice.message).not.toContain('\n');
    }
  });
});

describe('launchOptions', () => {
  it('throws the one-line message when there is no browser', async () => {
    const choice = findBrowser(host([], { platform: 'freebsd' }));
    await expect(launchOptions(choice)).rejects.toThrow(/^No Chrome or Chromium .*or install chromium\.$/);
  });

  it('launches a found browser headless with the closed-network flags', async () => {
    const options = await launchOptions({ source: 'path', executablePath: '/usr/bin/chromium' });
    expect(options).toEqual({ executablePath: '/usr/bin/chromium', args: [...HEADLESS_ARGS] });
    expect(options.args).toEqual(expect.arrayContaining(['--no-sandbox', '--disable-background-networking']));
  });
});

describe('explainLaunchFailure', () => {
  it('names the missing system library of the bundled Chromium, and the fix', () => {
    const error = new Error(
      'browserType.launch: Browser closed.\n/tmp/x/chromium: error while loading shared libraries: libnss3.so: cannot open shared object file',
    );
    expect(explainLaunchFailure({ source: 'sparticuz' }, error).message).toBe(
      'The Chromium from @sparticuz/chromium needs libnss3.so, which this machine lacks: install it (on Debian: apt-get install libnss3 libexpat1), or set BERTH_TEST_BROWSER=/path/to/chrome.',
    );
  });

  it('keeps any other failure as it was, with the browser it tried', () => {
    const error = new Error('Timeout 30000ms exceeded');
    const explained = explainLaunchFailure({ source: 'path', executablePath: '/usr/bin/chromium' }, error);
    expect(explained.message).toBe('Could not launch /usr/bin/chromium: Timeout 30000ms exceeded');
    expect(explained.cause).toBe(error);
  });
});
