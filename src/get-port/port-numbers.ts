/**
 * get-port's `portNumbers(from, to)`: its checks and error messages, word for word (code
 * may match on them), and a generator, so `portNumbers(1024, 65535)` allocates nothing.
 */
import { FIRST_UNPRIVILEGED_PORT, MAX_PORT } from '../core/policy.js';

/**
 * The ports `from` to `to`, in order, generated one at a time. Both ends must be
 * integers in 1024-65535 and `from <= to`: a TypeError for non-integers, a RangeError
 * otherwise, thrown at once (not when iterated). Single use, like get-port's.
 *
 * @example
 * import getPort, { portNumbers } from 'berth-ports/get-port';
 * const port = await getPort({ port: portNumbers(3000, 3100) }); // 3000-3100 if one is free, else a pool port
 */
export function portNumbers(from: number, to: number): Iterable<number> {
  if (!Number.isInteger(from) || !Number.isInteger(to)) {
    throw new TypeError('`from` and `to` must be integer numbers');
  }
  if (from < FIRST_UNPRIVILEGED_PORT || from > MAX_PORT) {
    throw new RangeError(`'from' must be between ${FIRST_UNPRIVILEGED_PORT} and ${MAX_PORT}`);
  }
  if (to < FIRST_UNPRIVILEGED_PORT || to > MAX_PORT) {
    throw new RangeError(`'to' must be between ${FIRST_UNPRIVILEGED_PORT} and ${MAX_PORT}`);
  }
  if (from > to) throw new RangeError('`to` must be greater than or equal to `from`');
  return ascending(from, to);
}

function* ascending(from: number, to: number): Generator<number, void, undefined> {
  for (let port = from; port <= to; port++) yield port;
}
