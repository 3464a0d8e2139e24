/**
 * Validation of a raw config: schema -> normalize -> rules, every problem
 * reported at once with its path. Pure: no file system, no clock.
 */
import { basename } from 'node:path';
import type { ResolvedConfig } from '../core/types.js';
import { checkSchema } from './check-schema.js';
import { type Draft, mergeEnvironment, normalize, sourcePath } from './normalize.js';
import { asRecord, type ConfigProblem } from './problems.js';
import { resolveDraft } from './resolve.js';
import { checkOverrideTargets, checkRules } from './rules.js';
import { CONFIG_JSON_SCHEMA } from './schema.js';

export type { ConfigProblem } from './problems.js';

/** Where a config came from and which environment to resolve. */
export interface ValidateContext {
  /** Absolute folder of the config (the project's identity; its name is the default project name). */
  dir: string;
  /** Absolute path of the config file, or `null` for a config given in code. */
  file: string | null;
  /** Environment whose overrides apply. One without an override block is fine. */
  environment: string;
}

/** The outcome of {@link validateConfig}. */
export interface ValidationResult {
  /** The resolved config, or `null` when there are errors. */
  config: ResolvedConfig | null;
  warnings: ConfigProblem[];
  errors: ConfigProblem[];
}

function declaredEnvironments(raw: Record<string, unknown>): string[] {
  return Object.keys(asRecord(raw.environments) ?? {}).filter((env) =>
    asRecord(asRecord(raw.environments)?.[env]),
  );
}

/** A `health` key that only `ready` has: `health.command`, `health.pattern`, `health.type` "command" or "output". */
const READY_ONLY = /(^|\.)health\.(command|pattern|type)$/;

/**
 * A command or output check written in `health` gets the schema's error and
 * where it belongs: `health` is also run by the daemon, for any project it
 * reads, so it never runs a command or waits for a line.
 */
function pointToReady(problem: ConfigProblem): ConfigProblem {
  if (!READY_ONLY.test(problem.path)) return problem;
  if (problem.path.endsWith('.type') && !/^"(command|output)"/.test(problem.message)) return problem;
  return {
    ...problem,
    message: `${problem.message} Command and output checks go in "ready" (berth up's), not in "health", which the daemon runs for any project it reads.`,
  };
}

/**
 * Checks a raw config (parsed JSON/YAML, or the object a berth.config.ts
 * exports) and resolves it for `ctx.environment`.
 *
 * The rules run on the base config and on every declared environment, so a
 * mistake in the `test` overrides is reported whichever `--env` is in use;
 * a problem that only an environment causes says which one.
 *
 * @example
 * const { config, errors } = validateConfig(JSON.parse(text), { dir, file, environment: 'development' });
 * if (errors.length > 0) console.error(formatProblems(errors).join('\n'));
 */
export function validateConfig(raw: unknown, ctx: ValidateContext): ValidationResult {
  const errors = checkSchema(raw, CONFIG_JSON_SCHEMA).map(pointToReady);
  const warnings: ConfigProblem[] = [];
  const record = asRecord(raw);
  if (record === null) return { config: null, warnings, errors };

  errors.push(...checkOverrideTargets(record));
  const seen = new Set<string>();
  const baseKeys = new Set<string>();
  const add = (list: ConfigProblem[], problem: ConfigProblem) => {
    const key = `${problem.path}\0${problem.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    list.push(problem);
  };

  let selected: Draft | null = null;
  for (const env of [null, ...declaredEnvironments(record)]) {
    const merged = mergeEnvironment(record, env);
    const draft = normalize(merged.config);
    if (env === ctx.environment || (env === null && selected === null)) selected = draft;
    const found = checkRules(draft);
    for (const [list, problems] of [
      [errors, found.errors],
      [warnings, found.warnings],
    ] as const) {
      for (const p of problems) {
        const path = sourcePath(p.path, merged.origins);
        const key = `${path}\0${p.message}`;
        if (env === null) baseKeys.add(key);
        // A problem the base config lacks and whose path does not already name the override.
        const fromEnv = env !== null && !baseKeys.has(key) && !path.startsWith('environments');
        add(list, { path, message: fromEnv ? `${p.message} (in environment "${env}")` : p.message });
      }
    }
  }

  if (errors.length > 0 || selected === null) return { config: null, warnings, errors };
  const config = resolveDraft(selected, { ...ctx, defaultProject: basename(ctx.dir) || 'berth' });
  return { config, warnings, errors };
}

/**
 * One line per problem: `services.websocket.inheritFrom: "sever" is not a service. Did you mean "server"?`;
 * a problem with the whole config reads `the config must be an object, not an array`.
 *
 * @example
 * formatProblems([{ path: 'strategy', message: '"fast" is not one of ...' }]) // ['strategy: "fast" is not one of ...']
 */
export function formatProblems(problems: readonly ConfigProblem[]): string[] {
  return problems.map((p) => (p.path === '' ? `the config ${p.message}` : `${p.path}: ${p.message}`));
}
