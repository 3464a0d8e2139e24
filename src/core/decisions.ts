/**
 * The words of the planner: decision lines in the seed's log style and the
 * errors that end planning. Pure.
 */
import { BerthError } from '../errors.js';
import type { PortRange, PortSource, ServiceSpec } from './types.js';

interface Skip {
  port: number;
  reason: string;
}

/**
 * `server assigned port 3002 (preferred): 3000 in use by a process berth did not lease; 3001 kept for client`,
 * with a warning at the end when the port is in the ephemeral range.
 */
export function assignedMessage(
  service: string,
  port: number,
  strategy: PortSource,
  skips: readonly Skip[],
  warning: string | null = null,
) {
  const head = `${service} assigned port ${port} (${strategy})`;
  const passed = skips
    .slice(0, 3)
    .map((s) => `${s.port} ${s.reason}`)
    .concat(skips.length > 3 ? [`${skips.length - 3} more passed over`] : []);
  const parts = warning ? [...passed, warning] : passed;
  return parts.length === 0 ? head : `${head}: ${parts.join('; ')}`;
}

/** What stood in the way, counted: the substance of an `E_NO_PORT` message. */
export interface ObstacleTally {
  leased: number;
  held: number;
  excluded: number;
  /** Kept for a rival service (declared conflict). */
  kept: number;
  /** Refused by policy, by reason. */
  refused: Record<string, number>;
}

/** A tally with nothing counted yet. */
export function emptyTally(): ObstacleTally {
  return { leased: 0, held: 0, excluded: 0, kept: 0, refused: {} };
}

/** Counts one port that could not be taken. */
export function count(
  tally: ObstacleTally,
  obstacle: 'leased' | 'held' | 'excluded' | 'kept' | 'refused',
  reason: string,
): void {
  if (obstacle === 'refused') tally.refused[reason] = (tally.refused[reason] ?? 0) + 1;
  else tally[obstacle]++;
}

/**
 * `800 leased by berth, 3 held by other processes, 2 excluded, 12 refused (10 in the ephemeral range, 2 privileged port)`
 *
 * @example
 * describeTally({ leased: 2, held: 0, excluded: 0, kept: 0, refused: {} }) // '2 leased by berth'
 */
export function describeTally(tally: ObstacleTally): string {
  const refused = Object.entries(tally.refused);
  const total = refused.reduce((sum, [, n]) => sum + n, 0);
  const parts = [
    tally.leased ? `${tally.leased} leased by berth` : '',
    tally.held ? `${tally.held} held by other processes` : '',
    tally.excluded ? `${tally.excluded} excluded` : '',
    tally.kept ? `${tally.kept} kept for a conflicting service` : '',
    total ? `${total} refused (${refused.map(([why, n]) => `${n} ${why}`).join(', ')})` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no port to try';
}

/** `client moved from 3001 to 3002: 3001 taken by server (minimal)` */
export function moveMessage(service: string, from: number, to: number, why: string) {
  return `${service} moved from ${from} to ${to}: ${why}`;
}

/** `websocket inherits port 3000 from server` */
export function inheritedMessage(service: string, port: number, from: string) {
  return `${service} inherits port ${port} from ${from}`;
}

function tried(skips: readonly Skip[]): string {
  return skips.map((s) => `${s.port} (${s.reason})`).join(', ');
}

/** Strict strategy: the preferred ports (or the range) are held and falling back is forbidden. */
export function strictError(spec: ServiceSpec, skips: readonly Skip[]): BerthError {
  const what = spec.preferred.length > 0 ? 'preferred ports' : 'range';
  return new BerthError(
    'E_PORT_HELD',
    `${spec.name}: every ${what.replace(/s$/, '')} is held: ${tried(skips) || 'none free'}. Strategy strict does not fall back; free a port (berth who <port>) or use --strategy minimal.`,
    { data: { service: spec.name, port: skips[0]?.port ?? null, tried: skips } },
  );
}

/** No port anywhere: name the service, what stood in the way (counted), and the first ports tried. */
export function noPortError(
  spec: ServiceSpec,
  skips: readonly Skip[],
  tally: ObstacleTally,
  pool: PortRange,
): BerthError {
  const range = spec.range ? `range ${spec.range.min}-${spec.range.max} and ` : '';
  const first = skips.length ? ` First tried: ${tried(skips.slice(0, 5))}.` : '';
  return new BerthError(
    'E_NO_PORT',
    `no free port for ${spec.name} in its preferred ports, ${range}the emergency pool ${pool.min}-${pool.max}: ${describeTally(tally)}.${first} Widen services.${spec.name}.range or free a port (berth who <port>).`,
    { data: { service: spec.name, tried: skips, obstacles: tally } },
  );
}

/**
 * The one `E_UNKNOWN_SERVICE`: a name the project's config does not declare,
 * with the names it does (or, when it declares none, only the fix).
 *
 * @example
 * unknownServiceError('nope', ['server', 'client'], 'shop').message
 * // 'unknown service "nope" in shop. Known services: server, client. Declare it under services.nope, or use one of those.'
 */
export function unknownServiceError(name: string, known: readonly string[], project?: string): BerthError {
  const fix =
    known.length > 0
      ? `Known services: ${known.join(', ')}. Declare it under services.${name}, or use one of those.`
      : `No service is declared: declare it under services.${name}.`;
  return new BerthError(
    'E_UNKNOWN_SERVICE',
    `unknown service "${name}"${project ? ` in ${project}` : ''}. ${fix}`,
    { data: { service: name, known: [...known] } },
  );
}
