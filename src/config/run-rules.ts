/**
 * The rules of `berth up`'s keys: `dependsOn` names services and makes no
 * cycle (with `inheritFrom`, an implicit dependency), `ready` is a consistent
 * check, `env` leaves berth's own variables alone, and keys that need a
 * command are not set on a service without one. Pure, like rules.ts.
 */
import { urlVariable } from '../core/endpoints.js';
import { notAService } from '../core/suggest.js';
import type { Draft, DraftService } from './normalize.js';
import { type ConfigProblem, indexPath, keyPath } from './problems.js';
import { envVarOf } from './resolve.js';

type Push = (path: string, message: string) => void;

function checkDependsOn(s: DraftService, byName: ReadonlyMap<string, DraftService>, err: Push): void {
  for (const { name, index } of s.run.dependsOn) {
    const path = indexPath(keyPath(s.path, 'dependsOn'), index);
    if (name === s.name) {
      err(path, `${s.name} cannot depend on itself; remove it from dependsOn`);
    } else if (!byName.has(name)) {
      const others = [...byName.keys()].filter((n) => n !== s.name);
      err(path, notAService(name, s.name, others, 'remove the entry'));
    }
  }
}

/** A service's dependencies: its `dependsOn`, then its `inheritFrom` (valid names only). */
function edgesOf(s: DraftService, byName: ReadonlyMap<string, DraftService>) {
  const edges: { to: string; index: number | null }[] = [];
  for (const { name, index } of s.run.dependsOn) {
    if (name !== s.name && byName.has(name)) edges.push({ to: name, index });
  }
  if (s.inheritFrom !== null && s.inheritFrom !== s.name && byName.has(s.inheritFrom)) {
    edges.push({ to: s.inheritFrom, index: null });
  }
  return edges;
}

/** One step of the walk: a service, and the `dependsOn` index of the edge taken out of it (`null`: its inheritFrom). */
interface Frame {
  name: string;
  out: number | null;
}

/**
 * Reports dependency cycles, each at a `dependsOn` entry on it. Cycles made of
 * `inheritFrom` alone are the inheritance rule's business.
 */
function checkCycles(
  services: readonly DraftService[],
  byName: ReadonlyMap<string, DraftService>,
  err: Push,
) {
  const done = new Set<string>();
  const reported = new Set<string>();
  const path: Frame[] = [];
  const visit = (name: string): void => {
    const at = path.findIndex((f) => f.name === name);
    if (at !== -1) {
      const cycle = path.slice(at);
      const key = cycle
        .map((f) => f.name)
        .sort()
        .join('\0');
      const declared = cycle.find((f) => f.out !== null);
      if (declared === undefined || reported.has(key)) return;
      reported.add(key);
      err(
        indexPath(keyPath(byName.get(declared.name)!.path, 'dependsOn'), declared.out!),
        `dependency cycle ${[...cycle.map((f) => f.name), name].join(' -> ')}; remove one of these dependsOn entries (inheritFrom counts: a service waits for the one whose port it shares)`,
      );
      return;
    }
    if (done.has(name)) return;
    const frame: Frame = { name, out: null };
    path.push(frame);
    for (const edge of edgesOf(byName.get(name)!, byName)) {
      frame.out = edge.index;
      visit(edge.to);
    }
    path.pop();
    done.add(name);
  };
  for (const s of services) visit(s.name);
}

/** A declared `ready` check: tcp checks take no path or status (as for `health`). */
function checkReady(s: DraftService, err: Push): void {
  const ready = s.run.ready;
  if (ready === undefined || ready.type !== 'tcp') return;
  for (const key of ['path', 'expectStatus']) {
    if (key in ready) {
      err(
        keyPath(keyPath(s.path, 'ready'), key),
        `${key} applies to http checks only; remove it or set type: "http"`,
      );
    }
  }
}

/** `env` may not set what berth sets itself: PORT and every service's port and URL variables. */
function checkEnv(s: DraftService, published: ReadonlyMap<string, DraftService>, err: Push): void {
  for (const key of Object.keys(s.run.env)) {
    const path = keyPath(keyPath(s.path, 'env'), key);
    if (key === 'PORT') {
      err(path, `berth sets PORT to ${s.name}'s port itself; remove it from env`);
      continue;
    }
    const owner = published.get(key);
    if (owner !== undefined) {
      err(path, `berth sets ${key} itself (a variable of ${owner.path}); remove it from env`);
    }
  }
}

/** Keys that need a command, on a service without one: they would do nothing. */
function checkWithoutCommand(s: DraftService, warn: Push): void {
  if (s.run.command !== null) return;
  const served = s.inheritFrom !== null;
  const keys = [...s.run.declared, ...(served || s.run.dependsOn.length === 0 ? [] : ['dependsOn'])];
  for (const key of keys) {
    warn(
      keyPath(s.path, key),
      served
        ? `${s.name} has no command: berth up serves it with ${s.inheritFrom}'s process, so ${key} does nothing here; set it on ${s.inheritFrom}, or give ${s.name} a command`
        : `${s.name} has no command, so berth up does not run it and ${key} does nothing; add a command or remove ${key}`,
    );
  }
}

/** `maxRestarts` counts restarts, which `restart: "no"` never makes. */
function checkRestarts(s: DraftService, warn: Push): void {
  if (s.run.command !== null && s.run.restart === 'no' && s.run.declared.includes('maxRestarts')) {
    warn(
      keyPath(s.path, 'maxRestarts'),
      `restart is "no", so ${s.name} is never restarted; set restart to "on-failure" or "always", or remove maxRestarts`,
    );
  }
}

/**
 * Checks the `berth up` keys of a draft. Pure.
 *
 * @example
 * checkRunRules(normalize({ services: { a: { dependsOn: ['a'] } } })).errors
 * // [{ path: 'services.a.dependsOn[0]', message: 'a cannot depend on itself; remove it from dependsOn' }]
 */
export function checkRunRules(draft: Draft): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const err: Push = (path, message) => errors.push({ path, message });
  const warn: Push = (path, message) => warnings.push({ path, message });
  const byName = new Map(draft.services.map((s) => [s.name, s]));
  const published = new Map<string, DraftService>();
  for (const s of draft.services) {
    if (!published.has(envVarOf(s))) published.set(envVarOf(s), s);
    if (!published.has(urlVariable(s.name))) published.set(urlVariable(s.name), s);
  }
  for (const s of draft.services) {
    checkDependsOn(s, byName, err);
    checkReady(s, err);
    checkEnv(s, published, err);
    checkWithoutCommand(s, warn);
    checkRestarts(s, warn);
  }
  checkCycles(draft.services, byName, err);
  return { errors, warnings };
}
