import { defineConfig } from '@playwright/test';
import { berthWebServers } from 'berth-ports/playwright';

// Leases ports for server and client (berth.config.json, its `test` environment): each
// webServer gets its port, PORT, SERVER_URL, CLIENT_URL, ...; the page opens the client.
const berth = berthWebServers({ cwd: import.meta.dirname, baseURL: 'client' });

export default defineConfig({
  testDir: 'tests',
  // Beside this config, not the project root's test-results/ (Playwright's default is the
  // folder of the nearest package.json, and it empties that folder at each run).
  outputDir: 'test-results',
  reporter: 'list',
  webServer: berth.webServer,
  use: {
    baseURL: berth.baseURL,
    // berth's own e2e test passes the browser of its dashboard test (test/support/browser.ts).
    launchOptions: JSON.parse(process.env.BERTH_EXAMPLE_LAUNCH ?? '{}'),
  },
});
