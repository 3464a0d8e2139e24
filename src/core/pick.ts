/**
 * Picking one port for `getPort()`: preferred ports, then a range in order, or
 * the default pool from a rotating start. Pure: the caller supplies the start
 * offset (its randomness) and the occupancy snapshot.
 */
import type { Occupancy } from './planner.js';
import { POOL_WELL_KNOWN_PORTS, type PortPolicy, type PortUse, refusal } from './policy.js';
import type { PortRange } from './types.js';

/** Inputs of {@link pickPort}. */
export interface PickInput {
  preferred: readonly number[];
  /** Range to scan in order; `null` means the policy's pool, from `start`. */
  range: PortRange | null;
  exclude: ReadonlySet<number>;
  policy: PortPolicy;
  use: PortUse;
  occupancy: Occupancy;
  /** Offset into the pool where the scan starts (0 <= start < pool size). */
  start: number;
}

/** How the picked port was found. */
export type PickStrategy = 'preferred' | 'range_scan' | 'pool';

/**
 * The first port that is allowed, not excluded, not leased and not listening.
 *
 * @example
 * pickPort({ preferred: [3000], range: null, ... }) // { port: 3000, strategy: 'preferred' }
 */
export function pickPort(input: PickInput): { port: number; strategy: PickStrategy } | null {
  const free = (port: number) =>
    !input.exclude.has(port) &&
    refusal(port, input.use, input.policy) === null &&
    !input.occupancy.leased(port) &&
    !input.occupancy.listening(port);

  for (const port of input.preferred) {
    if (free(port)) return { port, strategy: 'preferred' };
  }
  if (input.range) {
    for (let port = input.range.min; port <= input.range.max; port++) {
      if (free(port)) return { port, strategy: 'range_scan' };
    }
    return null;
  }
  const { min, max } = input.policy.pool;
  const size = max - min + 1;
  for (let i = 0; i < size; i++) {
    const port = min + ((input.start + i) % size);
    if (!POOL_WELL_KNOWN_PORTS.has(port) && free(port)) return { port, strategy: 'pool' };
  }
  return null;
}
