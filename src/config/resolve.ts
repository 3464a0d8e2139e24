/**
 * Derives the defaults that depend on other services (inherited `requires`,
 * symmetric `conflicts`) and builds the final {@link ResolvedConfig} from a
 * draft the rules accepted.
 */
import { isAbsolute, resolve } from 'node:path';
import { portVariable } from '../core/endpoints.js';
import { inheritanceChain } from '../core/order.js';
import { DEFAULT_POOL } from '../core/policy.js';
import type {
  HealthSpec,
  PortRange,
  ReadySpec,
  Requirement,
  ResolvedConfig,
  RunSpec,
  ServiceSpec,
} from '../core/types.js';
import { HEALTH_INTERVAL_MS } from '../core/types.js';
import type { Draft, DraftService } from './normalize.js';

/** The variable a service's port is published under: its `portEnv`, else `<STEM>_PORT` ({@link portVariable}). */
export function envVarOf(service: DraftService): string {
  return service.portEnv ?? portVariable(service.name);
}

/** What a service speaks: its own `requires`, else the nearest inherited one's, else `['http']`. */
export function effectiveRequires(
  service: DraftService,
  byName: ReadonlyMap<string, DraftService>,
): readonly Requirement[] {
  for (const name of inheritanceChain(service.name, byName)) {
    const declared = byName.get(name)!.requires;
    if (declared !== null) return declared;
  }
  return ['http'];
}

/** Plain http and websocket servers answer a GET; TLS ones would need a TLS client, so they get a tcp check. */
function derivedHealthType(requires: readonly Requirement[]): HealthSpec['type'] {
  const first = requires[0];
  return first === 'http' || first === 'websocket' ? 'http' : 'tcp';
}

/** A declared check (`health` or `ready`) with its defaults filled in. */
function checkSpec(
  declared: Record<string, unknown>,
  requires: readonly Requirement[],
  defaultTimeoutMs: number,
): HealthSpec {
  const http = declared.path !== undefined || declared.expectStatus !== undefined;
  const type = declared.type === 'tcp' || declared.type === 'http' ? declared.type : undefined;
  return {
    type: type ?? (http ? 'http' : derivedHealthType(requires)),
    path: typeof declared.path === 'string' ? declared.path : '/',
    expectStatus: typeof declared.expectStatus === 'number' ? declared.expectStatus : null,
    intervalMs: typeof declared.intervalMs === 'number' ? declared.intervalMs : HEALTH_INTERVAL_MS,
    timeoutMs: typeof declared.timeoutMs === 'number' ? declared.timeoutMs : defaultTimeoutMs,
  };
}

/** The type of a declared `ready`: as written, else what its keys say (`command`, `pattern`), else a health check's. */
export function readyType(declared: Record<string, unknown>): string | undefined {
  if (typeof declared.type === 'string') return declared.type;
  if (declared.command !== undefined) return 'command';
  if (declared.pattern !== undefined) return 'output';
  return undefined;
}

/** A declared `ready` (which the rules accepted) with its defaults filled in. */
function readySpec(
  declared: Record<string, unknown>,
  requires: readonly Requirement[],
  timeoutMs: number,
): ReadySpec {
  const type = readyType(declared);
  if (type === 'output') return { type, pattern: String(declared.pattern) };
  if (type === 'command') {
    const { command } = declared;
    return {
      type,
      command:
        typeof command === 'string'
          ? { kind: 'shell', line: command }
          : { kind: 'exec', argv: command as [string, ...string[]] },
      intervalMs: typeof declared.intervalMs === 'number' ? declared.intervalMs : HEALTH_INTERVAL_MS,
      timeoutMs: typeof declared.timeoutMs === 'number' ? declared.timeoutMs : timeoutMs,
    };
  }
  return checkSpec(declared, requires, timeoutMs);
}

function resolveHealth(
  service: DraftService,
  requires: readonly Requirement[],
  draft: Draft,
): HealthSpec | null {
  if (!draft.enableHealthChecks || service.health === false) return null;
  const declared = typeof service.health === 'object' ? service.health : {};
  return checkSpec(declared, requires, draft.healthCheckTimeout);
}

/** `berth up`'s view of a service: its command, folder, variables and policies. */
function resolveRun(
  service: DraftService,
  requires: readonly Requirement[],
  health: HealthSpec | null,
  draft: Draft,
  dir: string,
): RunSpec {
  const run = service.run;
  return {
    command: run.command,
    cwd: run.cwd === null ? dir : isAbsolute(run.cwd) ? run.cwd : resolve(dir, run.cwd),
    env: { ...run.env },
    dependsOn: run.dependsOn.map((d) => d.name),
    // A declared `ready` applies even with health checks off: it is how the stack starts, not monitoring.
    ready: run.ready === undefined ? health : readySpec(run.ready, requires, draft.healthCheckTimeout),
    portArgs: run.portArgs,
    restart: run.restart,
    maxRestarts: run.maxRestarts,
    stopSignal: run.stopSignal,
    stopTimeoutMs: run.stopTimeoutMs,
  };
}

/** Every port of the `exclude` list, sorted, without repeats. */
function expandExclude(draft: Draft): number[] {
  const ports = new Set<number>();
  for (const { entry } of draft.exclude) {
    if (typeof entry === 'number') ports.add(entry);
    else for (let p = entry.min; p <= entry.max; p++) ports.add(p);
  }
  return [...ports].sort((a, b) => a - b);
}

function rangeOf(service: DraftService): PortRange | null {
  if (service.inheritFrom !== null) return null;
  if (service.range !== null) return service.range;
  // Only preferred ports: the service wants exactly those (then sticky/emergency).
  return service.preferred.length > 0 ? null : DEFAULT_POOL;
}

/** Builds the final config from a draft that passed every rule. */
export function resolveDraft(
  draft: Draft,
  ctx: { dir: string; file: string | null; environment: string; defaultProject: string },
): ResolvedConfig {
  const byName = new Map(draft.services.map((s) => [s.name, s]));
  const conflicts = new Map(draft.services.map((s) => [s.name, new Set<string>()]));
  for (const s of draft.services) {
    for (const { name } of s.conflicts) {
      if (!byName.has(name) || name === s.name) continue;
      conflicts.get(s.name)!.add(name);
      conflicts.get(name)!.add(s.name);
    }
  }
  const names = draft.services.map((s) => s.name);
  const services: ServiceSpec[] = draft.services.map((s) => {
    const requires = effectiveRequires(s, byName);
    const mine = conflicts.get(s.name)!;
    const health = resolveHealth(s, requires, draft);
    return {
      name: s.name,
      preferred: s.inheritFrom === null ? s.preferred.map((p) => p.port) : [],
      range: rangeOf(s),
      priority: s.priority,
      requires,
      conflicts: names.filter((n) => mine.has(n)),
      inheritFrom: s.inheritFrom,
      envVar: envVarOf(s),
      allowPrivileged: s.allowPrivileged,
      health,
      run: resolveRun(s, requires, health, draft, ctx.dir),
    };
  });
  return {
    project: draft.project ?? ctx.defaultProject,
    dir: ctx.dir,
    file: ctx.file,
    environment: ctx.environment,
    strategy: draft.strategy,
    healthCheckTimeout: draft.healthCheckTimeout,
    maxRetries: draft.maxRetries,
    enableHealthChecks: draft.enableHealthChecks,
    autoReassign: draft.autoReassign,
    exclude: expandExclude(draft),
    services,
    registry: draft.registry,
    urls: draft.urls,
  };
}
