/**
 * Names in a real headless Chromium (test/support/browser.ts), which sends
 * *.localhost to loopback itself: a page served by the real Vite from npm at
 * http://web.<project>.localhost:<proxyPort>/ loads, its websocket to
 * ws://api.<project>.localhost:<proxyPort>/ echoes, and an edit to a module
 * reaches the page through Vite's HMR websocket, over the name, without a reload.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, reserveBlock, type Sandbox, sandbox } from '../helpers.js';
import { describeBrowser, findBrowser, launchBrowser, thisHost } from '../support/browser.js';

const BROWSER = findBrowser(thisHost());
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js');
const FIXTURE = join(ROOT, 'test/fixtures/named-service.cjs');
const WS_MODULE = createRequire(import.meta.url).resolve('ws');

let box: Sandbox;
let browser: Browser;
let page: Page;
let proxyPort: number;
const children: ChildProcess[] = [];

function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (c: string) => {
      seen += c;
      if (seen.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${text}": ${seen}`)));
  });
}

beforeAll(async () => {
  browser = await launchBrowser(BROWSER);
  const block = await reserveBlock(6);
  proxyPort = block[1]!;
  box = sandbox('vitesite');
  box.writeConfig({
    services: {
      web: {
        range: { min: block[2], max: block[3] },
        // The real Vite on berth's port; its HMR client dials the page's own host (the name).
        command: `"${process.execPath}" "${VITE}" --port "$PORT" --strictPort --host 127.0.0.1`,
        ready: { path: '/' },
      },
      api: {
        range: { min: block[4], max: block[5] },
        command: [process.execPath, FIXTURE],
        env: { SERVICE_NAME: 'api', WS_MODULE },
      },
    },
  });
  writeFileSync(
    join(box.dir, 'index.html'),
    '<!doctype html><html><body><p id="msg"></p><p id="echo"></p><script type="module" src="/main.js"></script></body></html>',
  );
  writeFileSync(join(box.dir, 'message.js'), "export const message = 'first';\n");
  writeFileSync(
    join(box.dir, 'main.js'),
    [
      "import { message } from './message.js';",
      "document.querySelector('#msg').textContent = message;",
      'if (import.meta.hot) import.meta.hot.accept();',
      'if (!window.echoed) {',
      '  window.echoed = true;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the page's own template literal, written into its module
      '  const ws = new WebSocket(`ws://api.vitesite.localhost:${location.port}/`);',
      "  ws.onopen = () => ws.send('from the page');",
      "  ws.onmessage = (e) => { document.querySelector('#echo').textContent = e.data; };",
      '}',
    ].join('\n'),
  );
  const daemon = spawn(
    process.execPath,
    [CLI, 'serve', '--port', String(block[0]), '--proxy-port', String(proxyPort)],
    {
      cwd: box.dir,
      env: box.env,
    },
  );
  children.push(daemon);
  await waitForOutput(daemon, 'stdout', 'Names:');
  const stack = spawn(process.execPath, [CLI, 'up'], { cwd: box.dir, env: box.env });
  children.push(stack);
  await waitForOutput(stack, 'stderr', 'every service is ready');
  page = await browser.newPage();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  for (const child of children.reverse()) {
    if (child.exitCode !== null) continue;
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  box?.cleanup();
});

describe(`names in ${describeBrowser(BROWSER)}`, () => {
  it('loads a Vite page at its name, and its websocket to the api name echoes', async () => {
    const url = `http://web.vitesite.localhost:${proxyPort}/`;
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    await expect.poll(() => page.locator('#msg').textContent(), { timeout: 15_000 }).toBe('first');
    await expect
      .poll(() => page.locator('#echo').textContent(), { timeout: 15_000 })
      .toBe('echo from the page');
  });

  it("brings an edit to a module through Vite's HMR over the name, without reloading the page", async () => {
    await page.evaluate('window.marker = 42');
    writeFileSync(join(box.dir, 'message.js'), "export const message = 'second';\n");
    await expect.poll(() => page.locator('#msg').textContent(), { timeout: 20_000 }).toBe('second');
    expect(await page.evaluate('window.marker')).toBe(42);
  });
});
