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

/**
 * Why `port` may not be handed out for `use`, or `null` when it may.
 *
 * @example
 * refusal(22, { requires: ['http'], allowPrivileged: false }, basePolicy()) // 'privileged port'
 */
export function refusal(port: number, use: PortUse, policy: PortPolicy): string | null {
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) return 'not a TCP port';
  if (port < FIRST_UNPRIVILEGED_PORT && !use.allowPrivileged) return 'privileged port';
  if (isBrowserFacing(use.requires) && BROWSER_UNSAFE_PORTS.has(port)) return 'blocked by browsers';
  for (const r of policy.excluded) {
    if (port >= r.min && port <= r.max) return 'excluded';
  }
  const eph = policy.ephemeral;
  if (eph && port >= eph.min && port <= eph.max) return 'in the ephemeral range';
  return null;
}
