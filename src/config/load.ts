/**
 * Finding and reading config files. The only I/O of the config layer; the
 * YAML parser and jiti (for berth.config.ts) are imported only when such a
 * file is read, so a JSON config costs the CLI no extra start-up time.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import type { ResolvedConfig } from '../core/types.js';
import { BerthError } from '../errors.js';
import { ENVIRONMENT_NAME_PATTERN } from './schema.js';
import { type ConfigProblem, formatProblems, validateConfig } from './validate.js';

/** Config file names, in order of preference when a folder holds several. */
export const CONFIG_FILE_NAMES = [
  'berth.config.json',
  'berth.config.yaml',
  'berth.config.yml',
  'berth.config.ts',
] as const;

/** A resolved config and the warnings worth showing. */
export interface LoadedConfig {
  config: ResolvedConfig;
  warnings: ConfigProblem[];
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Folder to search from (upward), and the base of a relative `file`. */
  cwd: string;
  /** An explicit config file (`--config`); skips the search. */
  file?: string;
  /** Environment whose overrides apply (`--env`). */
  environment: string;
  /**
   * The option that named `file`, for the fix in a message: the test runners'
   * helpers pass `configFile`; default the CLI's `--config`.
   */
  fileOption?: string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The real path, so a checkout reached through a symlink is one project, not two. */
function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The nearest config file from `cwd` up to the filesystem root, or `null`.
 *
 * @example
 * findConfigFile('/home/me/shop/packages/api') // '/home/me/shop/berth.config.json'
 */
export function findConfigFile(cwd: string): string | null {
  let dir = resolve(cwd);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = resolve(dir, name);
      if (isFile(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function configError(
  message: string,
  opts: { file?: string | null; details?: readonly string[]; cause?: unknown } = {},
): BerthError {
  return new BerthError('E_CONFIG', message, {
    details: opts.details ?? [],
    cause: opts.cause,
    data: { file: opts.file ?? null },
  });
}

/** How to name the file in messages: relative to the cwd when that is shorter. */
function displayName(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel.length < file.length ? rel : file;
}

async function parseJson(text: string, name: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch (error) {
    // Loaded only on this error path: every valid config pays nothing for it.
    const { locateJsonError } = await import('./json-syntax.js');
    const located = locateJsonError(text);
    const where = located === null ? '' : `:${located.line}:${located.column}`;
    const why = located?.message ?? (error as Error).message;
    throw configError(`${name}${where}: invalid JSON: ${why}. Fix the syntax and run again.`, {
      file,
      cause: error,
    });
  }
}

async function parseYaml(text: string, name: string, file: string): Promise<unknown> {
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text);
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = first.linePos?.[0];
    const where = pos === undefined ? '' : `:${pos.line}:${pos.col}`;
    // Pretty errors append "at line 2, column 27:" and a code frame; the position goes first instead.
    const why = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw configError(`${name}${where}: invalid YAML: ${why}. Fix the syntax and run again.`, {
      file,
      cause: first,
    });
  }
  return doc.toJS();
}

async function importModule(file: string, name: string): Promise<unknown> {
  try {
    const { createJiti } = await import('jiti');
    // No module cache: a long-running process (daemon, watcher) sees edits.
    const jiti = createJiti(import.meta.url, { moduleCache: false });
    return await jiti.import(file, { default: true });
  } catch (error) {
    const why = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    // berth's npm name is berth-ports: `import { defineConfig } from 'berth'` finds another package, or none.
    const hint = /Cannot find (module|package) 'berth'/.test(why)
      ? " berth's package is berth-ports: import { defineConfig } from 'berth-ports'."
      : '';
    throw configError(`${name} failed to load: ${why}.${hint} Fix the file and run again.`, {
      file,
      cause: error,
    });
  }
}

async function readRaw(file: string, name: string): Promise<unknown> {
  const ext = extname(file).toLowerCase();
  if (['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(ext)) return importModule(file, name);
  // A leading BOM is legal in files but not in JSON.parse.
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  if (ext === '.yaml' || ext === '.yml') return parseYaml(text, name, file);
  if (ext === '.json') return parseJson(text, name, file);
  throw configError(
    `${name}: unknown config format "${ext}". Use a .json, .yaml, .yml or .ts file (e.g. berth.config.json).`,
    { file },
  );
}

function throwProblems(name: string, file: string | null, errors: readonly ConfigProblem[]): never {
  const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
  const details = formatProblems(errors);
  // The problems are in the message too: a library caller's unhandled rejection shows only the message.
  throw configError(
    `${name} has ${count}. Fix ${errors.length === 1 ? 'it' : 'them'} and run again.\n${details.map((d) => `  - ${d}`).join('\n')}`,
    { file, details },
  );
}

const ENVIRONMENT_NAME = new RegExp(ENVIRONMENT_NAME_PATTERN);

/** Rejects environment names a config could never declare (empty, spaces, `../x`). */
function checkEnvironment(environment: string): void {
  if (!ENVIRONMENT_NAME.test(environment)) {
    throw new BerthError(
      'E_USAGE',
      `environment "${environment}" is not a valid name. Use letters, digits, ".", "_" or "-", starting with a letter or digit (--env NAME or BERTH_ENV).`,
    );
  }
}

/**
 * Finds (or takes), reads and validates the config, resolved for one environment.
 * Throws `BerthError('E_CONFIG')` with every problem in `details`.
 *
 * @example
 * const { config, warnings } = await loadConfig({ cwd: process.cwd(), environment: 'development' });
 */
export async function loadConfig(opts: LoadConfigOptions): Promise<LoadedConfig> {
  checkEnvironment(opts.environment);
  const cwd = resolve(opts.cwd);
  let file: string;
  if (opts.file !== undefined) {
    const given = resolve(cwd, opts.file);
    const fix =
      opts.fileOption === undefined
        ? { missing: 'Check the --config path.', notFile: 'Pass a config file to --config.' }
        : {
            missing: `Check the ${opts.fileOption} option: a path relative to ${cwd}, or absolute.`,
            notFile: `Pass a config file in the ${opts.fileOption} option.`,
          };
    if (!existsSync(given)) {
      throw configError(`config file ${opts.file} not found (resolved to ${given}). ${fix.missing}`);
    }
    if (!isFile(given)) throw configError(`config path ${given} is not a file. ${fix.notFile}`);
    file = canonical(given);
  } else {
    const found = findConfigFile(cwd);
    if (found === null) {
      throw configError(
        `no berth.config.json found in ${cwd} or above. Run \`berth init\` to create one, or pass --config FILE.`,
      );
    }
    file = canonical(found);
  }
  const name = displayName(file, cwd);
  const raw = await readRaw(file, name);
  const result = validateConfig(raw, { dir: dirname(file), file, environment: opts.environment });
  if (result.config === null) throwProblems(name, file, result.errors);
  return { config: result.config, warnings: result.warnings };
}

/**
 * Validates a config given in code (library users pass `config` directly).
 * The project folder is `cwd`; `file` is `null`. Throws like {@link loadConfig}.
 *
 * @example
 * const { config } = resolveConfig({ services: { server: { preferred: [3000] } } }, { cwd, environment: 'test' });
 */
export function resolveConfig(raw: unknown, ctx: { cwd: string; environment: string }): LoadedConfig {
  checkEnvironment(ctx.environment);
  const dir = canonical(ctx.cwd);
  const result = validateConfig(raw, { dir, file: null, environment: ctx.environment });
  if (result.config === null) throwProblems('the config object', null, result.errors);
  return { config: result.config, warnings: result.warnings };
}
