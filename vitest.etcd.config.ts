import { defineConfig } from 'vitest/config';

/**
 * `npm run test:etcd`: the suite that starts its own etcd members (the `etcd` binary on
 * PATH: `apt install etcd-server`, `brew install etcd`). Kept out of `npm test`, which
 * needs nothing but Node.
 */
export default defineConfig({
  test: {
    include: ['test/etcd/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The suites start clusters and process fleets; one file at a time on a 2-core machine.
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest-etcd.json' },
  },
});
