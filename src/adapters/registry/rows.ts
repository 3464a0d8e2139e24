/**
 * Rows read back from SQLite are not trusted: each is checked before it
 * becomes a `Lease` or `RegistryEvent`. A bad row is skipped, not fatal.
 */
import { isPort } from '../../core/policy.js';
import type { RegistryEvent, RegistryEventType } from '../../core/registry.js';
import type { Lease } from '../../core/types.js';

export interface LeaseRow {
  id: unknown;
  port: unknown;
  kind: unknown;
  project: unknown;
  dir: unknown;
  environment: unknown;
  service: unknown;
  inherits_from: unknown;
  pid: unknown;
  pid_start: unknown;
  created_at: unknown;
  expires_at: unknown;
  scheme: unknown;
}

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** The lease a row describes, or `null` when the row is malformed. */
export function rowToLease(row: LeaseRow): Lease | null {
  if (!isInt(row.id) || !isPort(row.port)) return null;
  if (row.kind !== 'service' && row.kind !== 'adhoc') return null;
  if (!isStr(row.project) || !isStr(row.dir) || !isStr(row.environment) || !isStr(row.service)) return null;
  if (row.inherits_from !== null && !isStr(row.inherits_from)) return null;
  if (!isInt(row.created_at)) return null;
  if (row.expires_at !== null && !isInt(row.expires_at)) return null;
  if (row.scheme !== null && !isStr(row.scheme)) return null;
  let owner: Lease['owner'] = null;
  if (row.pid !== null) {
    if (!isInt(row.pid) || row.pid <= 0) return null;
    if (row.pid_start !== null && !isStr(row.pid_start)) return null;
    owner = { pid: row.pid, startTime: row.pid_start };
  }
  return {
    id: row.id,
    port: row.port,
    kind: row.kind,
    project: row.project,
    dir: row.dir,
    environment: row.environment,
    service: row.service,
    inheritsFrom: row.inherits_from,
    scheme: row.scheme,
    owner,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export interface EventRow {
  id: unknown;
  at: unknown;
  type: unknown;
  project: unknown;
  dir: unknown;
  environment: unknown;
  service: unknown;
  port: unknown;
  from_port: unknown;
  detail: unknown;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<RegistryEventType>([
  'assigned',
  'moved',
  'released',
  'reclaimed',
  'healthy',
  'unhealthy',
]);

/** The event a row describes, or `null` when the row is malformed. */
export function rowToEvent(row: EventRow): RegistryEvent | null {
  if (!isInt(row.id) || !isInt(row.at) || !isStr(row.type) || !EVENT_TYPES.has(row.type)) return null;
  if (!isStr(row.project) || !isStr(row.dir) || !isStr(row.environment) || !isStr(row.service)) return null;
  if (!isPort(row.port) || (row.from_port !== null && !isPort(row.from_port)) || !isStr(row.detail))
    return null;
  return {
    id: row.id,
    at: row.at,
    type: row.type as RegistryEventType,
    project: row.project,
    dir: row.dir,
    environment: row.environment,
    service: row.service,
    port: row.port,
    fromPort: row.from_port,
    detail: row.detail,
  };
}

/** Maps rows through a checker, dropping the malformed ones. */
export function validRows<R, T>(rows: readonly R[], check: (row: R) => T | null): T[] {
  const out: T[] = [];
  for (const row of rows) {
    const value = check(row);
    if (value !== null) out.push(value);
  }
  return out;
}
