/**
 * `berth/jest/teardown`: Jest's `globalTeardown` (see `berth/jest`).
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth/jest/setup', globalTeardown: 'berth/jest/teardown' };
 */
import { globalTeardown } from './index.js';

export default globalTeardown;
