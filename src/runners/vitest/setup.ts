/**
 * `berth-ports/vitest/setup`: vitest's global setup, as a module with `setup` and
 * `teardown` exports (vitest 4's globalSetup form).
 *
 * @example
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config';
 * export default defineConfig({ test: { globalSetup: ['berth-ports/vitest/setup'] } });
 */
export { setup, teardown } from './index.js';
