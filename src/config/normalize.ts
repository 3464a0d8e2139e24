/**
 * Normalisation: applies an environment's overrides, then reads the merged
 * config into a draft with defaults filled in. Runs after the schema check and
 * reads defensively: a value the schema rejected is treated as absent, so the
 * rules that follow report only new problems, never echoes of a type error.
 */
import { isPort } from '../core/policy.js';
import { DEFAULT_STOP_TIMEOUT_MS, RESTART_POLICIES, STOP_SIGNALS } from '../core/stack.js';
import type {
  ConflictStrategy,
  PortRange,
  Priority,
  Requirement,
  RestartPolicy,
  RunCommand,
  StopSignal,
} from '../core/types.js';
import { CONFLICT_STRATEGIES } from '../core/types.js';
import { asRecord, keyPath } from './problems.js';

/** One service of the draft: what the config declares, defaults not yet derived across services. */
export interface DraftService {
  name: string;
  /** Path of the service in the merged config: `services.server`. */
  path: string;
  /** Valid declared ports, with their index in the declared list. */
  preferred: readonly { port: number; index: number }[];
  /** The declared range, when both ends are valid ports (min > max is a rule's business). */
  range: PortRange | null;
  priority: Priority;
  /** Declared `requires`, or `null` for the default. */
  requires: readonly Requirement[] | null;
  /** Declared conflict names, with their index. */
  conflicts: readonly { name: string; index: number }[];
  inheritFrom: string | null;
  /** Declared `portEnv` (the port's variable name), or `null` for the default. */
  portEnv: string | null;
  /** The service's own setting, else the top-level one. */
  allowPrivileged: boolean;
  /** Declared health: `undefined` when absent. */
  health: boolean | Record<string, unknown> | undefined;
  /** What `berth up` runs, as declared. */
  run: DraftRun;
}

/** The `berth up` keys of one service, read defensively. */
export interface DraftRun {
  command: RunCommand | null;
  /** Declared `cwd`, relative to the config's folder; `null` for the folder itself. */
  cwd: string | null;
  /** Valid `env` entries. */
  env: Readonly<Record<string, string>>;
  /** Declared dependency names, with their index. */
  dependsOn: readonly { name: string; index: number }[];
  /** Declared readiness check: `undefined` when absent. */
  ready: Record<string, unknown> | undefined;
  /** Declared `portArgs`: `true` (the table) when absent or invalid. */
  portArgs: boolean | readonly string[];
  restart: RestartPolicy;
  maxRestarts: number | null;
  stopSignal: StopSignal;
  stopTimeoutMs: number;
  /** Which of the keys that need a command the service declares (a rule warns about them without one). */
  declared: readonly string[];
}

/** Keys that only mean something for a service `berth up` runs itself. */
export const COMMAND_ONLY_KEYS = [
  'cwd',
  'env',
  'restart',
  'maxRestarts',
  'stopSignal',
  'stopTimeout',
] as const;

/** A config after overrides and defaults, before cross-service rules. */
export interface Draft {
  /** Declared project name, or `null` for the folder's name. */
  project: string | null;
  /** Declared registry URL, or `null` for the default. */
  registry: string | null;
  /** What `<NAME>_URL` carries: port URLs or named ones. */
  urls: 'ports' | 'named';
  strategy: ConflictStrategy;
  healthCheckTimeout: number;
  maxRetries: number;
  enableHealthChecks: boolean;
  autoReassign: boolean;
  /** Valid `exclude` entries with their index. */
  exclude: readonly { entry: number | PortRange; index: number }[];
  services: readonly DraftService[];
}

/** Defaults of the top-level settings (also documented in schema.ts). */
export const SETTING_DEFAULTS = {
  strategy: 'minimal',
  healthCheckTimeout: 5000,
  maxRetries: 5,
  enableHealthChecks: true,
  autoReassign: true,
  allowPrivileged: false,
} as const;

/** The merged config and, for each replaced key, the path it came from. */
export interface Merged {
  config: Record<string, unknown>;
  /** Merged path (`services.server.preferred`) -> source path (`environments.test.services.server.preferred`). */
  origins: ReadonlyMap<string, string>;
}

/**
 * Applies `environments[environment]` to the base config: each key given in
 * the override replaces the base key (top-level settings, and keys of
 * `services.<name>`). Overrides of services the base lacks are ignored here;
 * a rule reports them.
 */
export function mergeEnvironment(raw: Record<string, unknown>, environment: string | null): Merged {
  const origins = new Map<string, string>();
  const override = environment === null ? null : asRecord(asRecord(raw.environments)?.[environment]);
  if (override === null || environment === null) return { config: raw, origins };
  const envPath = keyPath('environments', environment);
  const config: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(override)) {
    if (key === 'services') continue;
    config[key] = value;
    origins.set(keyPath('', key), keyPath(envPath, key));
  }
  const baseServices = asRecord(raw.services);
  const serviceOverrides = asRecord(override.services);
  if (baseServices !== null && serviceOverrides !== null) {
    const services: Record<string, unknown> = { ...baseServices };
    for (const [name, patch] of Object.entries(serviceOverrides)) {
      const base = asRecord(baseServices[name]);
      const patchRecord = asRecord(patch);
      if (base === null || patchRecord === null) continue;
      services[name] = { ...base, ...patchRecord };
      const servicePath = keyPath('services', name);
      const sourcePath = keyPath(keyPath(envPath, 'services'), name);
      for (const key of Object.keys(patchRecord)) {
        origins.set(keyPath(servicePath, key), keyPath(sourcePath, key));
      }
    }
    config.services = services;
  }
  return { config, origins };
}

/** Maps a path of the merged config back to where the user wrote the value. */
export function sourcePath(path: string, origins: ReadonlyMap<string, string>): string {
  let best = '';
  for (const key of origins.keys()) {
    const covers = path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`);
    if (covers && key.length > best.length) best = key;
  }
  return best === '' ? path : origins.get(best)! + path.slice(best.length);
}

function pick<T>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

function intIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? value
    : fallback;
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

/** A range whose ends are both valid ports, else `null`. */
export function readRange(value: unknown): PortRange | null {
  const r = asRecord(value);
  return r !== null && isPort(r.min) && isPort(r.max) ? { min: r.min, max: r.max } : null;
}

function indexed<T>(value: unknown, accept: (item: unknown) => T | null): { item: T; index: number }[] {
  if (!Array.isArray(value)) return [];
  const out: { item: T; index: number }[] = [];
  value.forEach((raw, index) => {
    const item = accept(raw);
    if (item !== null) out.push({ item, index });
  });
  return out;
}

function readCommand(value: unknown): RunCommand | null {
  if (typeof value === 'string' && value.trim() !== '') return { kind: 'shell', line: value };
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return { kind: 'exec', argv: value as [string, ...string[]] };
  }
  return null;
}

function readPortArgs(value: unknown): boolean | readonly string[] {
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) {
    return value as string[];
  }
  return true;
}

function readEnv(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(asRecord(value) ?? {})) {
    if (NAME.test(key) && typeof v === 'string') out[key] = v;
  }
  return out;
}

function draftRun(s: Record<string, unknown>): DraftRun {
  return {
    command: readCommand(s.command),
    cwd: typeof s.cwd === 'string' && s.cwd !== '' ? s.cwd : null,
    env: readEnv(s.env),
    dependsOn: indexed(s.dependsOn, (v) => (typeof v === 'string' ? v : null)).map(({ item, index }) => ({
      name: item,
      index,
    })),
    ready: asRecord(s.ready) ?? undefined,
    portArgs: readPortArgs(s.portArgs),
    restart: pick<RestartPolicy>(s.restart, RESTART_POLICIES, 'no'),
    maxRestarts: intIn(s.maxRestarts, 0, 1_000_000, -1) === -1 ? null : (s.maxRestarts as number),
    stopSignal: pick<StopSignal>(s.stopSignal, STOP_SIGNALS, 'SIGTERM'),
    stopTimeoutMs: intIn(s.stopTimeout, 0, 600_000, DEFAULT_STOP_TIMEOUT_MS),
    declared: COMMAND_ONLY_KEYS.filter((key) => key in s),
  };
}

const REQUIREMENTS: readonly Requirement[] = ['http', 'https', 'websocket', 'wss', 'tcp'];
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function draftService(name: string, value: unknown, allowPrivileged: boolean): DraftService {
  const s = asRecord(value) ?? {};
  const requires = Array.isArray(s.requires)
    ? [...new Set(s.requires.filter((r): r is Requirement => REQUIREMENTS.includes(r as Requirement)))]
    : [];
  // Duplicates are a schema error; keeping only the first copy stops the rules repeating it.
  const preferred: { port: number; index: number }[] = [];
  const seenPorts = new Set<number>();
  for (const { item, index } of indexed(s.preferred, (v) => (isPort(v) ? v : null))) {
    if (seenPorts.has(item)) continue;
    seenPorts.add(item);
    preferred.push({ port: item, index });
  }
  const health = s.health;
  return {
    name,
    path: keyPath('services', name),
    preferred,
    range: readRange(s.range),
    priority: pick<Priority>(s.priority, ['high', 'medium', 'low'], 'medium'),
    requires: requires.length > 0 ? requires : null,
    conflicts: indexed(s.conflicts, (v) => (typeof v === 'string' ? v : null)).map(({ item, index }) => ({
      name: item,
      index,
    })),
    inheritFrom: typeof s.inheritFrom === 'string' ? s.inheritFrom : null,
    portEnv: typeof s.portEnv === 'string' && NAME.test(s.portEnv) ? s.portEnv : null,
    allowPrivileged: bool(s.allowPrivileged, allowPrivileged),
    health: typeof health === 'boolean' ? health : (asRecord(health) ?? undefined),
    run: draftRun(s),
  };
}

/** Reads a merged config into a draft, using defaults for anything absent or invalid. */
export function normalize(config: Record<string, unknown>): Draft {
  const allowPrivileged = bool(config.allowPrivileged, SETTING_DEFAULTS.allowPrivileged);
  const services = Object.entries(asRecord(config.services) ?? {}).map(([name, value]) =>
    draftService(name, value, allowPrivileged),
  );
  return {
    project: typeof config.project === 'string' && config.project !== '' ? config.project : null,
    registry:
      typeof config.registry === 'string' && config.registry.trim() !== '' ? config.registry.trim() : null,
    urls: config.urls === 'named' ? 'named' : 'ports',
    strategy: pick<ConflictStrategy>(config.strategy, CONFLICT_STRATEGIES, SETTING_DEFAULTS.strategy),
    healthCheckTimeout: intIn(config.healthCheckTimeout, 1, 600_000, SETTING_DEFAULTS.healthCheckTimeout),
    maxRetries: intIn(config.maxRetries, 0, 100, SETTING_DEFAULTS.maxRetries),
    enableHealthChecks: bool(config.enableHealthChecks, SETTING_DEFAULTS.enableHealthChecks),
    autoReassign: bool(config.autoReassign, SETTING_DEFAULTS.autoReassign),
    exclude: indexed(config.exclude, (v) => (isPort(v) ? v : readRange(v))).map(({ item, index }) => ({
      entry: item,
      index,
    })),
    services,
  };
}
