/**
 * Picking one port for `getPort()`: preferred ports, then a range (ports
 * outside the ephemeral range first), or the default pool from a rotating
 * start. Pure: the caller supplies the start offset (its randomness) and the
 * occupancy snapshot.
 */
import { count, emptyTally, type ObstacleTally } from './decisions.js';
import type { Occupancy } from './planner.js';
import { type PortPolicy, type PortUse, poolOrder, type Refusal, rangeOrder, refusal } from './policy.js';
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
export type PickSource = 'preferred' | 'range_scan' | 'pool';

/**
 * The first port that is allowed, not excluded, not leased and not listening:
 * the preferred ports in order, then the range (outside the ephemeral range
 * first), or the pool from `start` when there is no range.
 *
 * @example
 * pickPort({ preferred: [3000], range: null, ... }) // { port: 3000, strategy: 'preferred' }
 */
export function pickPort(input: PickInput): { port: number; strategy: PickSource } | null {
  // The preferred ports in a plain loop: most calls that name one get it, and the
  // generator of the rest is never made (#22).
  for (const port of input.preferred) {
    if (standing(port, 'preferred', input) === null) return { port, strategy: 'preferred' };
  }
  for (const [port, strategy] of afterPreferred(input)) {
    if (standing(port, strategy, input) === null) return { port, strategy };
  }
  return null;
}

/**
 * Counts, for every port a pick would try, what stands in its way: the
 * substance of the `E_NO_PORT` message when a pick finds nothing. Only for
 * errors: it walks every candidate.
 *
 * @example
 * describeTally(tallyPick(input)) // '12 leased by berth, 3 held by other processes'
 */
export function tallyPick(input: PickInput): ObstacleTally {
  const tally = emptyTally();
  for (const [port, strategy] of candidates(input)) {
    const why = standing(port, strategy, input);
    if (why === null) continue;
    if (why === 'leased' || why === 'held' || why === 'excluded') count(tally, why, why);
    else count(tally, 'refused', why);
  }
  return tally;
}

/** The ports a pick tries, in order, each with how it would be found. */
function* candidates(input: PickInput): Generator<[number, PickSource]> {
  for (const port of input.preferred) yield [port, 'preferred'];
  yield* afterPreferred(input);
}

/** The ports a pick tries after the preferred ones: the range's or the pool's, the preferred ones left out. */
function* afterPreferred(input: PickInput): Generator<[number, PickSource]> {
  const again = input.preferred.length > 0 ? new Set(input.preferred) : null;
  const rest = input.range ? rangeOrder(input.range, input.policy) : poolOrder(input.policy, input.start);
  const strategy: PickSource = input.range ? 'range_scan' : 'pool';
  for (const port of rest) if (!again?.has(port)) yield [port, strategy];
}

/** What stands in the way of `port`, or `null` when it is free to take. */
function standing(
  port: number,
  strategy: PickSource,
  input: PickInput,
): 'leased' | 'held' | 'excluded' | Refusal | null {
  if (input.exclude.has(port)) return 'excluded';
  const refused = refusal(port, input.use, input.policy, strategy === 'pool' ? 'berth' : 'user');
  if (refused !== null) return refused;
  if (input.occupancy.leased(port)) return 'leased';
  if (input.occupancy.listening(port)) return 'held';
  return null;
}
