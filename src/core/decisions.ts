/**
 * The words of the planner: decision lines in the seed's log style and the
 * errors that end planning. Pure.
 */
import { BerthError } from '../errors.js';
import type { AssignStrategy, PortRange, ServiceSpec } from './types.js';

interface Skip {
  port: number;
  reason: string;
}

/** `server assigned port 3002 (preferred): 3000 in use by a process berth did not lease; 3001 kept for client` */
export function assignedMessage(
  service: string,
  port: number,
  strategy: AssignStrategy,
  skips: readonly Skip[],
) {
  const head = `${service} assigned port ${port} (${strategy})`;
  if (skips.length === 0) return head;
  return `${head}: ${skips
    .slice(0, 3)
    .map((s) => `${s.port} ${s.reason}`)
    .join('; ')}${skips.length > 3 ? `; ${skips.length - 3} more passed over` : ''}`;
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

/** No port anywhere: name the service, what was tried and why. */
export function noPortError(
  spec: ServiceSpec,
  skips: readonly Skip[],
  skippedCount: number,
  pool: PortRange,
): BerthError {
  const range = spec.range ? ` range ${spec.range.min}-${spec.range.max},` : '';
  return new BerthError(
    'E_NO_PORT',
    `no free port for ${spec.name}: tried ${tried(skips)}${skippedCount > skips.length ? ` and ${skippedCount - skips.length} more` : ''} in${range} and the emergency pool ${pool.min}-${pool.max}. Widen services.${spec.name}.range or free a port (berth who <port>).`,
    { data: { service: spec.name, tried: skips } },
  );
}
