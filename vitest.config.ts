import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The etcd suite needs an etcd binary: `npm run test:etcd` (vitest.etcd.config.ts).
    exclude: [...configDefaults.exclude, 'test/etcd/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file owns its temp BERTH_HOME; files run in parallel workers.
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
