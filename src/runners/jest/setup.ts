/**
 * `berth-ports/jest/setup`: Jest's `globalSetup` (see `berth-ports/jest`).
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth-ports/jest/setup', globalTeardown: 'berth-ports/jest/teardown' };
 */
import { globalSetup } from './index.js';

export default globalSetup;
