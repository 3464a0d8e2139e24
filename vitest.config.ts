import { configDefaults, defineConfig } from 'vitest/config';

/** The end-to-end tests that run a second time without /proc, on the paths macOS and Windows take. */
const NO_PROCFS = ['test/e2e/no-procfs.test.ts', 'test/e2e/get-port.test.ts', 'test/e2e/burst.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file owns its temp BERTH_HOME; files run in parallel workers.
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'berth',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          // The etcd suite needs an etcd binary: `npm run test:etcd` (vitest.etcd.config.ts).
          // no-procfs.test.ts is the second run's own file.
          exclude: [...configDefaults.exclude, 'test/etcd/**', 'test/e2e/no-procfs.test.ts'],
        },
      },
      {
        extends: true,
        // src/adapters/procfs.ts: BERTH_PROCFS=off, read once per process, children included.
        test: { name: 'no-procfs', include: NO_PROCFS, env: { BERTH_PROCFS: 'off' } },
      },
    ],
  },
});
