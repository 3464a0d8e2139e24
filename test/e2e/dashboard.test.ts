/**
 * The dashboard in headless Chromium (the machine's, else the one in the
 * @sparticuz/chromium dev dependency: see test/support/browser.ts): it lists
 * the leased services, and a lease made by the CLI while the page is open
 * appears without a reload. Screenshots go to test-results/ as artifacts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth, CLI, ROOT, reserveBlock, type Sandbox, sandbox } from '../helpers.js';
import { describeBrowser, findBrowser, launchBrowser, thisHost } from '../support/browser.js';

const ARTIFACTS = join(ROOT, 'test-results');
/** Where no browser can be had, launching throws a one-line fix and every test here fails. */
const BROWSER = findBrowser(thisHost());

let block: number[];
let box: Sandbox;
let daemon: ChildProcess;
let browser: Browser;
let page: Page;
let tokenUrl: string;
let app: Server;
let stack: ChildProcess | undefined;
const problems: string[] = [];

const run = (args: string[]) => berth(args, { cwd: box.dir, env: box.env });

beforeAll(async () => {
  browser = await launchBrowser(BROWSER);
  block = await reserveBlock(9);
  box = sandbox();
  box.writeConfig({
    project: 'shop',
    services: {
      server: {
        preferred: [block[1], block[2]],
        range: { min: block[1], max: block[4] },
        priority: 'high',
        requires: ['http'],
      },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      client: { preferred: [block[3]], range: { min: block[1], max: block[4] }, requires: ['http'] },
      database: { preferred: [block[5]], range: { min: block[5], max: block[6] }, requires: ['tcp'] },
      // Run by `berth up` in the last test: an http server on its PORT.
      worker: {
        preferred: [block[7]],
        command: [
          process.execPath,
          '-e',
          "require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1')",
        ],
      },
    },
  });
  expect((await run(['assign', 'server', 'client'])).code).toBe(0);
  // A real server on the server's port, so the page shows it bound and healthy.
  app = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => app.listen(block[1], '127.0.0.1', () => resolve()));
  daemon = spawn(
    process.execPath,
    [CLI, 'serve', '--port', String(block[0]), '--proxy-port', String(block[8])],
    {
      cwd: box.dir,
      env: box.env,
    },
  );
  tokenUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    daemon.stdout!.setEncoding('utf8');
    daemon.stdout!.on('data', (c: string) => {
      out += c;
      const url = /Dashboard: (\S+)/.exec(out)?.[1];
      if (url) resolve(url);
    });
    daemon.once('exit', (code) => reject(new Error(`berth serve exited with ${code}`)));
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // A CSP violation or a script error shows up here: the page must run clean under its strict policy.
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  if (stack && stack.exitCode === null) stack.kill('SIGKILL');
  await browser?.close();
  if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  box?.cleanup();
});

/** True when the page does not scroll sideways (evaluated in the browser). */
const FITS = 'document.documentElement.scrollWidth <= window.innerWidth';

const row = (service: string) =>
  page.locator('tr', { has: page.locator('td.service', { hasText: new RegExp(`^${service}`) }) });

describe(`dashboard in ${describeBrowser(BROWSER)}`, () => {
  it('opens with the printed URL (token to cookie, then /) and lists the leased services', async () => {
    await page.goto(tokenUrl);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(page.url()).not.toContain('token=');
    await row('server').waitFor();
    await expect.poll(() => row('server').locator('td.port').textContent()).toBe(String(block[1]));
    expect(await row('client').locator('td.port').textContent()).toBe(String(block[3]));
    expect(await row('websocket').textContent()).toContain('← server');
    expect(await row('server').locator('a').first().getAttribute('href')).toBe(
      `http://localhost:${block[1]}`,
    );
    // Its name through the proxy, linked under the port URL.
    expect(await row('server').locator('small.name a').getAttribute('href')).toBe(
      `http://server.shop.localhost:${block[8]}`,
    );
    expect(await page.locator('section.project h2').first().textContent()).toContain('shop');
    expect(await row('database').count()).toBe(0);
  });

  it('shows a lease made by the CLI while the page is open, without a reload, highlighted and logged', async () => {
    await page.evaluate('window.marker = 42');
    await expect.poll(() => page.locator('#conn').getAttribute('data-state')).toBe('live');
    expect((await run(['assign', 'database'])).code).toBe(0);
    await row('database').waitFor({ timeout: 10_000 });
    expect(await row('database').locator('td.port').textContent()).toBe(String(block[5]));
    expect(await row('database').getAttribute('data-flash')).toBe('assigned');
    expect(await page.evaluate('window.marker')).toBe(42);
    const logged = await page.locator('#log li').first().textContent();
    expect(logged).toContain('assigned');
    expect(logged).toContain(`shop/database on port ${block[5]}`);
  });

  it('shows health from the daemon, and fits 1280x800 and a narrow window (screenshots saved)', async () => {
    await expect.poll(() => row('server').textContent(), { timeout: 10_000 }).toContain('healthy');
    // A few health rounds, so the latency sparkline has points in the screenshot.
    await expect
      .poll(async () => Number(await row('server').locator('svg.spark').getAttribute('data-points')), {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(3);
    expect(await row('server').locator('svg.spark polyline').count()).toBe(1);
    // The daemon's own two leases: its port and its proxy's.
    expect(await page.locator('td.service', { hasText: /^berth servethis dashboard$/ }).count()).toBe(1);
    expect(await page.locator('td.service', { hasText: /^berth serve proxynames$/ }).count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
    const wide = await page.evaluate(FITS);
    expect(wide).toBe(true);
    await page.setViewportSize({ width: 390, height: 844 });
    // The page itself never scrolls sideways; the table scrolls inside its wrapper.
    expect(await page.evaluate(FITS)).toBe(true);
    expect(await row('server').isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-narrow.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it("shows berth up's run state live: ready, with its pid, and stopped when the stack stops", async () => {
    stack = spawn(process.execPath, [CLI, 'up', 'worker'], { cwd: box.dir, env: box.env, stdio: 'ignore' });
    const cell = row('worker').locator('td.run');
    await expect.poll(() => cell.getAttribute('data-run'), { timeout: 15_000 }).toBe('ready');
    expect(await cell.getAttribute('title')).toMatch(/^pid \d+, run by berth up \(pid \d+\)$/);
    expect(await row('server').locator('td.run').textContent()).toBe('—');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-up.png') });
    stack.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => stack!.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    // Its lease is released with the stack, so its row leaves the page.
    await expect.poll(() => row('worker').count(), { timeout: 10_000 }).toBe(0);
    expect(problems).toEqual([]);
  });
});
