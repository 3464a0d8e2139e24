/**
 * `berth-ports/jest/teardown`: Jest's `globalTeardown` (see `berth-ports/jest`).
 *
 * @example
 * // jest.config.js
 * module.exports = { globalSetup: 'berth-ports/jest/setup', globalTeardown: 'berth-ports/jest/teardown' };
 */
import { globalTeardown } from './index.js';

export default globalTeardown;
