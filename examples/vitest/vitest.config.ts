import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Leases the services of berth.config.json (its `test` environment) for the run, starts
    // the api, and provides { ports, urls } to the tests; the teardown stops it and releases
    // every lease of the run, the workers' included.
    globalSetup: ['berth-ports/vitest/setup'],
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 3,
  },
});
