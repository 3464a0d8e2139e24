/**
 * Rules that need more than one value at a time: inheritance, conflicts,
 * privileged ports, ranges, variable names. Each pushes problems with the path
 * of the merged config; validate.ts maps paths back to environment overrides.
 */
import { urlVariable } from '../core/endpoints.js';
import { inheritanceChain } from '../core/order.js';
import { BROWSER_UNSAFE_PORTS, FIRST_UNPRIVILEGED_PORT, isBrowserFacing } from '../core/policy.js';
import { ETCD_SECRET_VARS, parseRegistryUrl, registryUrlHasCredentials } from '../core/registry-url.js';
import { didYouMean, notAService } from '../core/suggest.js';
import type { Draft, DraftService } from './normalize.js';
import { asRecord, type ConfigProblem, indexPath, keyPath } from './problems.js';
import { effectiveRequires, envVarOf } from './resolve.js';
import { checkRunRules } from './run-rules.js';

/** Service names the API shape (`pm.ports()`, `GET /api/ports`) uses for its own keys. */
export const RESERVED_SERVICE_NAMES: ReadonlySet<string> = new Set(['environment', 'urls', 'names']);

/** Who uses a reserved name, for the error. */
const RESERVED_BY: Readonly<Record<string, string>> = {
  environment: 'ports()',
  urls: 'ports()',
  names: 'GET /api/ports',
};

/** An `exclude` range may not expand to more ports than this. */
export const MAX_EXCLUDE_RANGE_PORTS = 10_000;

/** What the rules found. */
export interface RuleProblems {
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

type Push = (path: string, message: string) => void;

function checkInheritance(s: DraftService, byName: ReadonlyMap<string, DraftService>, err: Push): void {
  if (s.inheritFrom === null) return;
  const path = keyPath(s.path, 'inheritFrom');
  const others = [...byName.keys()].filter((n) => n !== s.name);
  if (s.inheritFrom === s.name) {
    err(
      path,
      others.length === 0
        ? `${s.name} cannot inherit from itself, and it is the only service: remove inheritFrom`
        : `${s.name} cannot inherit from itself; remove inheritFrom or name another service`,
    );
  } else if (!byName.has(s.inheritFrom)) {
    err(path, notAService(s.inheritFrom, s.name, others, 'remove inheritFrom'));
  }
  for (const key of ['preferred', 'range'] as const) {
    const declared = key === 'preferred' ? s.preferred.length > 0 : s.range !== null;
    if (declared) {
      err(
        keyPath(s.path, key),
        `${s.name} inherits the port of ${s.inheritFrom} and cannot declare ${key}; remove ${key} or inheritFrom`,
      );
    }
  }
}

/** Reports each inheritance cycle once, at the first service of the cycle in declaration order. */
function checkCycles(
  services: readonly DraftService[],
  byName: ReadonlyMap<string, DraftService>,
  err: Push,
) {
  const reported = new Set<string>();
  for (const s of services) {
    if (reported.has(s.name) || s.inheritFrom === null || s.inheritFrom === s.name) continue;
    const chain = inheritanceChain(s.name, byName);
    const last = byName.get(chain[chain.length - 1]!)!;
    // The chain stopped on a repeat: a cycle, which `s` is part of when the repeat is `s`.
    if (last.inheritFrom !== s.name) continue;
    for (const name of chain) reported.add(name);
    err(
      keyPath(s.path, 'inheritFrom'),
      `inheritance cycle ${[...chain, s.name].join(' -> ')}; remove inheritFrom from one of them`,
    );
  }
}

function checkConflicts(
  s: DraftService,
  byName: ReadonlyMap<string, DraftService>,
  err: Push,
  seen: Set<string>,
) {
  const myRoot = inheritanceChain(s.name, byName).at(-1);
  for (const { name, index } of s.conflicts) {
    const path = indexPath(keyPath(s.path, 'conflicts'), index);
    if (name === s.name) {
      err(path, `${s.name} cannot conflict with itself; remove it from conflicts`);
      continue;
    }
    if (!byName.has(name)) {
      const others = [...byName.keys()].filter((n) => n !== s.name);
      err(path, notAService(name, s.name, others, 'remove the entry'));
      continue;
    }
    const pair = [s.name, name].sort().join('\0');
    if (seen.has(pair)) continue;
    seen.add(pair);
    if (inheritanceChain(name, byName).at(-1) === myRoot) {
      err(
        path,
        `${s.name} and ${name} share the port of ${myRoot} through inheritFrom, so they cannot conflict; remove the conflict or the inheritance`,
      );
    }
  }
}

const privilegeFix =
  'set allowPrivileged: true (on the service or at the top level) or use a port from 1024 up';

function checkPorts(
  s: DraftService,
  byName: ReadonlyMap<string, DraftService>,
  excluded: Set<number>,
  out: RuleProblems,
) {
  const err: Push = (path, message) => out.errors.push({ path, message });
  const warn: Push = (path, message) => out.warnings.push({ path, message });
  const range = s.range;
  if (range !== null && range.min > range.max) {
    err(keyPath(s.path, 'range'), `min ${range.min} is above max ${range.max}; swap them`);
  }
  if (range !== null && range.min < FIRST_UNPRIVILEGED_PORT && !s.allowPrivileged) {
    err(
      keyPath(keyPath(s.path, 'range'), 'min'),
      `${range.min} is a privileged port (below 1024); ${privilegeFix}`,
    );
  }
  const browser = isBrowserFacing(effectiveRequires(s, byName));
  for (const { port, index } of s.preferred) {
    const path = indexPath(keyPath(s.path, 'preferred'), index);
    if (port < FIRST_UNPRIVILEGED_PORT && !s.allowPrivileged) {
      err(path, `${port} is a privileged port (below 1024); ${privilegeFix}`);
    }
    if (range !== null && range.min <= range.max && (port < range.min || port > range.max)) {
      warn(path, `${port} is outside range ${range.min}-${range.max}; it is still tried first`);
    }
    if (browser && BROWSER_UNSAFE_PORTS.has(port)) {
      warn(
        path,
        `browsers refuse to connect to port ${port}, so it is skipped for ${s.name}; pick another port`,
      );
    }
    if (excluded.has(port))
      warn(path, `${port} is listed in exclude, so it is never assigned; remove one of them`);
  }
}

function checkHealth(s: DraftService, err: Push): void {
  const h = s.health;
  if (typeof h !== 'object' || h.type !== 'tcp') return;
  for (const key of ['path', 'expectStatus']) {
    if (key in h) {
      err(
        keyPath(keyPath(s.path, 'health'), key),
        `${key} applies to http checks only; remove it or set type: "http"`,
      );
    }
  }
}

function checkExclude(draft: Draft, err: Push): Set<number> {
  const ports = new Set<number>();
  for (const { entry, index } of draft.exclude) {
    const path = indexPath('exclude', index);
    if (typeof entry === 'number') {
      ports.add(entry);
    } else if (entry.min > entry.max) {
      err(path, `min ${entry.min} is above max ${entry.max}; swap them`);
    } else if (entry.max - entry.min + 1 > MAX_EXCLUDE_RANGE_PORTS) {
      err(
        path,
        `${entry.min}-${entry.max} covers ${entry.max - entry.min + 1} ports; a range may exclude at most ${MAX_EXCLUDE_RANGE_PORTS}. Narrow it, or narrow the services' ranges instead`,
      );
    } else {
      for (let p = entry.min; p <= entry.max; p++) ports.add(p);
    }
  }
  return ports;
}

/**
 * Every variable a service publishes (its port variable and `<STEM>_URL`) must
 * be its own: `web-socket` and `webSocket` would both write `WEB_SOCKET_URL`.
 */
function checkVariables(s: DraftService, published: Map<string, DraftService>, err: Push): void {
  const portVar = envVarOf(s);
  const urlVar = urlVariable(s.name);
  const portOwner = portVar === urlVar ? s : published.get(portVar);
  const urlOwner = published.get(urlVar);
  if (portOwner !== undefined) {
    const whose = portOwner === s ? `the URL variable of ${s.path}` : `the variable of ${portOwner.path}`;
    err(
      keyPath(s.path, 'portEnv'),
      `${portVar} is also ${whose}; set portEnv to a different name on one of them`,
    );
  } else if (urlOwner !== undefined) {
    err(s.path, `${s.name} and ${urlOwner.path} would both publish ${urlVar}; rename one of them`);
  }
  if (!published.has(portVar)) published.set(portVar, s);
  if (!published.has(urlVar)) published.set(urlVar, s);
}

/**
 * Checks a draft (one environment's merged config). Pure.
 *
 * @example
 * checkRules(normalize({ services: { a: { inheritFrom: 'a' } } })).errors
 * // [{ path: 'services.a.inheritFrom', message: 'a cannot inherit from itself; ...' }]
 */
export function checkRules(draft: Draft): RuleProblems {
  const out: RuleProblems = { errors: [], warnings: [] };
  const err: Push = (path, message) => out.errors.push({ path, message });
  const byName = new Map(draft.services.map((s) => [s.name, s]));
  const excluded = checkExclude(draft, err);
  const conflictPairs = new Set<string>();
  const published = new Map<string, DraftService>();
  for (const s of draft.services) {
    if (RESERVED_SERVICE_NAMES.has(s.name)) {
      err(
        s.path,
        `"${s.name}" is reserved (${RESERVED_BY[s.name]} uses it for its own key); rename the service`,
      );
    }
    checkInheritance(s, byName, err);
    checkConflicts(s, byName, err, conflictPairs);
    checkPorts(s, byName, excluded, out);
    checkHealth(s, err);
    checkVariables(s, published, err);
  }
  checkCycles(draft.services, byName, err);
  checkRegistry(draft.registry, err);
  const run = checkRunRules(draft);
  out.errors.push(...run.errors);
  out.warnings.push(...run.warnings);
  return out;
}

/** A registry URL in a config file: one the registry's own parser takes, and no credentials (a config file gets checked in). */
function checkRegistry(registry: string | null, err: Push): void {
  if (registry === null) return;
  if (registryUrlHasCredentials(registry)) {
    err(
      'registry',
      `carries credentials or options; a config file is no place for them. Remove them and set ${ETCD_SECRET_VARS.join(', ')} in the environment instead`,
    );
    return;
  }
  try {
    parseRegistryUrl(registry);
  } catch (e) {
    err('registry', (e as Error).message.replace(/^registry /, '').replace(/\.$/, ''));
  }
}

/**
 * Overrides in `environments.<env>.services` that name no service of the base
 * config. Checked on the raw config because merging drops them.
 */
export function checkOverrideTargets(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = Object.keys(asRecord(raw.services) ?? {});
  for (const [env, value] of Object.entries(asRecord(raw.environments) ?? {})) {
    const overrides = asRecord(asRecord(value)?.services) ?? {};
    for (const name of Object.keys(overrides)) {
      if (names.includes(name)) continue;
      problems.push({
        path: keyPath(keyPath(keyPath('environments', env), 'services'), name),
        message:
          names.length === 0
            ? `overrides "${name}", which is not a service, and services declares none. Declare it under services first`
            : `overrides "${name}", which is not a service.${didYouMean(name, names) || ` Services: ${names.join(', ')}.`} Declare it under services first`,
      });
    }
  }
  return problems;
}
