/**
 * Which ports berth may hand out at all, before asking whether they are free.
 * Pure: the live ephemeral range and OS exclusions are read by adapters and
 * passed in.
 */
import type { PortRange, Requirement } from './types.js';

/** Lowest port an unprivileged process may bind on most systems. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/** Highest TCP port. */
export const MAX_PORT = 65535;

/**
 * True for a TCP port number: an integer from 1 to 65535. The one check every
 * layer uses (config, CLI arguments, API bodies, getPort options, stored rows).
 *
 * @example
 * isPort(3000) // true
 * isPort('3000') // false: a string is not a port
 */
export function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_PORT;
}

/**
 * Ports browsers refuse to fetch from ("bad ports"), so an http service there
 * is unreachable from a page.
 * Source: WHATWG Fetch standard, "port blocking", https://fetch.spec.whatwg.org/#port-blocking
 */
export const BROWSER_UNSAFE_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/**
 * The default pool for `getPort()` with no options and for emergency ports:
 * below every common ephemeral range (Linux 32768-60999, Windows/macOS 49152-65535)
 * and above the registered ports developers usually run (3000, 5432, 6379, 8080, 9090...).
 */
export const DEFAULT_POOL: PortRange = { min: 20000, max: 29999 };

/**
 * Well-known service ports inside {@link DEFAULT_POOL} that the pool skips so a
 * leased port never collides with a database or tool a developer starts later.
 * Source: IANA service name and port number registry, plus de-facto defaults
 * (MongoDB 27017-27019 and 28017, CockroachDB 26257, RethinkDB 28015, Minecraft 25565,
 * Synergy 24800, Gerrit 29418, Usermin/DNP3 20000, Steam 27015).
 */
export const POOL_WELL_KNOWN_PORTS: ReadonlySet<number> = new Set([
  20000, 24800, 25565, 26257, 27015, 27017, 27018, 27019, 28015, 28017, 29418,
]);

/** The machine's and the project's rules for which ports may be handed out. */
export interface PortPolicy {
  /** The kernel's live ephemeral range (outgoing connections take these), or `null` when unknown. */
  ephemeral: PortRange | null;
  /** Ranges never handed out: OS exclusions (Windows' excludedportrange) and the config's `exclude`. */
  excluded: readonly PortRange[];
  /** Where emergency ports and default `getPort()` ports come from. */
  pool: PortRange;
}

/** What a port is asked for: enough of a service to judge a port. */
export interface PortUse {
  requires: readonly Requirement[];
  allowPrivileged: boolean;
}

/** A policy with no machine facts: useful in tests and as a starting point. */
export function basePolicy(overrides: Partial<PortPolicy> = {}): PortPolicy {
  return { ephemeral: null, excluded: [], pool: DEFAULT_POOL, ...overrides };
}

/** True when the service is reached from a browser, so browser-unsafe ports are off limits. */
export function isBrowserFacing(requires: readonly Requirement[]): boolean {
  return requires.some((r) => r !== 'tcp');
}

/** Why a port may not be handed out: the policy's words, shown in decisions and errors. */
export type Refusal =
  | 'not a TCP port'
  | 'privileged port'
  | 'blocked by browsers'
  | 'excluded'
  | 'in the ephemeral range'
  | 'a well-known port of the pool';

/**
 * Who names a port: the user (a preferred port, a port of a declared range) or
 * berth itself (the default pool, emergency ports). The ephemeral range and the
 * pool's well-known ports are avoided only in berth's own picks: a port or range
 * the user names is theirs (#9).
 */
export type Chooser = 'user' | 'berth';

/**
 * Why `port` may not be handed out for `use`, or `null` when it may.
 *
 * @example
 * refusal(22, { requires: ['http'], allowPrivileged: false }, basePolicy()) // 'privileged port'
 * refusal(35729, use, { ...basePolicy(), ephemeral: { min: 32768, max: 60999 } }, 'user') // null
 */
export function refusal(
  port: number,
  use: PortUse,
  policy: PortPolicy,
  chooser: Chooser = 'berth',
): Refusal | null {
  if (!isPort(port)) return 'not a TCP port';
  if (port < FIRST_UNPRIVILEGED_PORT && !use.allowPrivileged) return 'privileged port';
  if (isBrowserFacing(use.requires) && BROWSER_UNSAFE_PORTS.has(port)) return 'blocked by browsers';
  for (const r of policy.excluded) {
    if (port >= r.min && port <= r.max) return 'excluded';
  }
  if (chooser === 'user') return null;
  if (isEphemeral(port, policy)) return 'in the ephemeral range';
  if (POOL_WELL_KNOWN_PORTS.has(port)) return 'a well-known port of the pool';
  return null;
}

/** True when `port` lies in the kernel's live ephemeral range, where outgoing connections take ports. */
export function isEphemeral(port: number, policy: PortPolicy): boolean {
  const eph = policy.ephemeral;
  return eph !== null && port >= eph.min && port <= eph.max;
}

/**
 * The ports of a user's range in the order berth tries them: those outside the
 * ephemeral range first (an outgoing connection can take an ephemeral port
 * between the pick and the server's bind), then the rest, each part ascending.
 *
 * @example
 * [...rangeOrder({ min: 32766, max: 32769 }, { ...basePolicy(), ephemeral: { min: 32768, max: 60999 } })]
 * // [32766, 32767, 32768, 32769]
 */
export function* rangeOrder(range: PortRange, policy: PortPolicy): Generator<number> {
  for (let port = range.min; port <= range.max; port++) if (!isEphemeral(port, policy)) yield port;
  for (let port = range.min; port <= range.max; port++) if (isEphemeral(port, policy)) yield port;
}

/**
 * The pool's ports in the order berth tries them, from offset `start`, skipping
 * the well-known ones: one rule for `getPort()`'s default pool and for emergency ports.
 *
 * @example
 * poolOrder(basePolicy(), 0).next().value // 20001 (20000 is a well-known port)
 */
export function* poolOrder(policy: PortPolicy, start = 0): Generator<number> {
  const { min, max } = policy.pool;
  const size = max - min + 1;
  for (let i = 0; i < size; i++) {
    const port = min + ((start + i) % size);
    if (!POOL_WELL_KNOWN_PORTS.has(port)) yield port;
  }
}

/** The warning for a user-named port in the ephemeral range, for decision lines. */
export function ephemeralWarning(port: number, policy: PortPolicy): string | null {
  if (!isEphemeral(port, policy)) return null;
  const eph = policy.ephemeral!;
  return `${port} is in the ephemeral range ${eph.min}-${eph.max}: an outgoing connection can take it before the server binds it`;
}
