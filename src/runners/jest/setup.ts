/**
 * `berth/jest/setup`: Jest's `globalSetup` (see `berth/jest`).
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth/jest/setup', globalTeardown: 'berth/jest/teardown' };
 */
import { globalSetup } from './index.js';

export default globalSetup;
