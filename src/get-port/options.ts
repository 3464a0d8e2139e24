/**
 * get-port's options, and reading them as get-port does: `exclude` checked up front
 * with its TypeErrors, word for word; preferred ports pulled from their iterable a
 * chunk at a time, so a generator (even an endless one) is never spread into an array.
 */
import type { ListenOptions } from 'node:net';
import { MAX_PORT } from '../core/policy.js';

/**
 * Options of `getPort` from `berth-ports/get-port`: get-port 7's, name for name and type for
 * type (types.test.ts compares them with get-port's own declarations).
 */
export type Options = {
  /** A preferred port, or an iterable of them tried in order (read lazily); `0` means none. */
  readonly port?: number | Iterable<number>;
  /** Ports never to return, neither preferred nor from the pool. */
  readonly exclude?: Iterable<number>;
  /**
   * Accepted for get-port's users. In berth every port is leased for the life of the
   * process anyway (until `clearLockedPorts()`), so this changes nothing.
   */
  readonly reserve?: boolean;
  /**
   * Check availability on this address (or name, resolved as `listen()` would) only.
   * Default: every address of the machine.
   */
  readonly host?: string;
} & Omit<ListenOptions, 'port'>;

const NO_PORTS: ReadonlySet<number> = new Set();

/** `exclude` as a set, checked as get-port checks it (TypeErrors with its messages). */
export function excludedPorts(exclude: unknown): ReadonlySet<number> {
  // get-port ignores a falsy `exclude` (undefined, null, 0) and checks anything else.
  if (!exclude) return NO_PORTS;
  if (typeof (exclude as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') {
    throw new TypeError('The `exclude` option must be an iterable.');
  }
  const ports = new Set<number>();
  for (const item of exclude as Iterable<unknown>) {
    if (typeof item !== 'number') {
      throw new TypeError(
        'Each item in the `exclude` option must be a number corresponding to the port you want excluded.',
      );
    }
    if (!Number.isSafeInteger(item)) {
      throw new TypeError(`Number ${item} in the exclude option is not a safe integer and can't be used`);
    }
    ports.add(item);
  }
  return ports;
}

/** `port` as an iterable of preferred ports, not yet read; empty when falsy (get-port: no preference). */
export function preferredPorts(port: unknown): Iterable<unknown> {
  if (!port) return [];
  if (typeof port === 'number') return [port];
  if (
    typeof port === 'object' &&
    typeof (port as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function'
  ) {
    return port as Iterable<unknown>;
  }
  throw new TypeError('The `port` option must be a number or an iterable of numbers.');
}

/**
 * The preferred ports in chunks of up to `size`, excluded ones left out, each checked
 * as it is read. Reads the iterable only as far as the chunks asked for, and stops at
 * its end or at a `0` (get-port hands out any free port there: the caller's fallback).
 */
export function* candidateChunks(
  preferred: Iterable<unknown>,
  exclude: ReadonlySet<number>,
  size: number,
): Generator<number[], void, undefined> {
  let chunk: number[] = [];
  for (const item of preferred) {
    const port = checkedPort(item);
    if (port === 0) break;
    if (exclude.has(port)) continue;
    chunk.push(port);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

function checkedPort(item: unknown): number {
  if (typeof item !== 'number') {
    throw new TypeError(`Each item in the \`port\` option must be a number, not ${typeof item}.`);
  }
  if (!Number.isInteger(item) || item < 0 || item > MAX_PORT) {
    throw new RangeError(
      `Port ${item} in the \`port\` option is not a TCP port: use integers from 0 to ${MAX_PORT}.`,
    );
  }
  return item;
}
