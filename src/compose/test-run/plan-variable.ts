/**
 * The plan of a Playwright run, kept in one place: the variable the main process
 * sets for its workers (and for itself, when Playwright loads the config again).
 * A process takes a plan only when it is well formed and was written by itself or
 * by one of its ancestors: a `BERTH_PLAYWRIGHT` left exported in a shell, or
 * inherited from an unrelated run, would hand out ports that are not leased.
 */
import type { ProcessTree } from '../../core/facts.js';
import type { WebServerPlan } from './web-servers.js';

/** The variable that carries the main process's plan, as `{ pid, plan }` JSON. */
export const PLAN_VARIABLE = 'BERTH_PLAYWRIGHT';

/** How far up the process tree a plan's writer is looked for (npx, a shell, Playwright's own layers). */
const MAX_ANCESTORS = 8;

/**
 * Records `plan` as this process's, for its workers and its own later calls.
 *
 * @example
 * writePlan(process.env, plan);
 */
export function writePlan(env: NodeJS.ProcessEnv, plan: WebServerPlan): void {
  env[PLAN_VARIABLE] = JSON.stringify({ pid: process.pid, plan });
}

/**
 * The plan this process or an ancestor wrote, or `null` when there is none, it is
 * malformed, or it is some other process tree's.
 *
 * @example
 * const plan = readPlan(process.env, tree) ?? leaseNewPlan();
 */
export function readPlan(env: NodeJS.ProcessEnv, tree: ProcessTree): WebServerPlan | null {
  const text = env[PLAN_VARIABLE];
  if (!text) return null;
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(envelope) || typeof envelope.pid !== 'number' || !isPlan(envelope.plan)) return null;
  return writtenByUs(envelope.pid, tree) ? envelope.plan : null;
}

function writtenByUs(writer: number, tree: ProcessTree): boolean {
  if (writer === process.pid || writer === process.ppid) return true;
  let pid: number | null = process.ppid;
  for (let i = 0; i < MAX_ANCESTORS && pid !== null && pid > 1; i++) {
    pid = tree.parentOf(pid);
    if (pid === writer) return true;
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function isPlan(value: unknown): value is WebServerPlan {
  if (!isRecord(value)) return false;
  const { runId, home, registry, scope, reused, servers, values, env, notes } = value;
  return (
    typeof runId === 'string' &&
    typeof home === 'string' &&
    (registry === null || typeof registry === 'string') &&
    (scope === null ||
      (isRecord(scope) && typeof scope.dir === 'string' && typeof scope.environment === 'string')) &&
    (reused === null || typeof reused === 'string') &&
    Array.isArray(servers) &&
    servers.every(isServer) &&
    isRecord(values) &&
    isRecord(values.ports) &&
    Object.values(values.ports).every((p) => Number.isInteger(p)) &&
    isStringRecord(values.urls) &&
    isStringRecord(env) &&
    Array.isArray(notes) &&
    notes.every((n) => typeof n === 'string')
  );
}

function isServer(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const { name, command, cwd, port, url, env, stopSignal, stopTimeoutMs } = value;
  return (
    typeof name === 'string' &&
    typeof command === 'string' &&
    typeof cwd === 'string' &&
    Number.isInteger(port) &&
    (url === null || typeof url === 'string') &&
    isStringRecord(env) &&
    typeof stopSignal === 'string' &&
    typeof stopTimeoutMs === 'number'
  );
}
