/**
 * The options of the runners' helpers (`berthSetup`, `createGlobalSetup`,
 * `berthWebServers`), checked before anything is leased: a wrong type, a
 * negative timeout or a misspelt key ends in one `E_USAGE` that names the
 * helper, the option and the fix, instead of being silently ignored or
 * misread (a string taken for a list of services, a timeout that fires at once).
 */
import { checkSchema } from '../../config/check-schema.js';
import { describeValue } from '../../config/problems.js';
import { ENVIRONMENT_NAME_PATTERN, type JsonSchema } from '../../config/schema.js';
import { schemeOf } from '../../core/endpoints.js';
import { didYouMean } from '../../core/suggest.js';
import type { ResolvedConfig } from '../../core/types.js';
import { BerthError } from '../../errors.js';

/** setTimeout's ceiling: a longer delay fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A non-blank string; `what` and `example` make the message. */
function text(what: string, example: string): JsonSchema {
  return {
    type: 'string',
    pattern: '\\S',
    errorMessage: `must be a non-empty string (${what}); pass e.g. ${example}`,
    patternErrorMessage: `is blank; pass ${what}, e.g. ${example}`,
  };
}

function flag(key: string, meaning: string): JsonSchema {
  return { type: 'boolean', errorMessage: `must be true or false; pass ${key}: false to ${meaning}` };
}

function milliseconds(key: string, defaultMs: number): JsonSchema {
  return {
    type: 'integer',
    unit: 'milliseconds',
    minimum: 1,
    maximum: MAX_TIMER_MS,
    default: defaultMs,
    description: `${key}: leave it out for ${defaultMs}`,
  };
}

function names(key: string, what: string, example: string): JsonSchema {
  return {
    type: 'array',
    items: { ...text(what, `${key}: ${example}`) },
    errorMessage: `must be an array of ${what}; pass e.g. ${key}: ${example}`,
  };
}

/** The options every helper takes: where the config is, which environment and services, which registry. */
const COMMON_OPTIONS: Readonly<Record<string, JsonSchema>> = {
  cwd: text('a folder', 'cwd: import.meta.dirname'),
  configFile: text('a config file, relative to cwd', "configFile: 'berth.config.json'"),
  environment: {
    type: 'string',
    pattern: ENVIRONMENT_NAME_PATTERN,
    errorMessage:
      "must be an environment name of the config; pass e.g. environment: 'test', or leave it out for test",
    patternErrorMessage:
      'is not an environment name (letters, digits, ".", "_" or "-", starting with a letter or digit); pass e.g. environment: \'test\', or leave it out for test',
  },
  services: names('services', 'service names', "['api']"),
  home: text('the registry folder', "home: '/tmp/berth-home'"),
};

/** A helper's options, checked by the config's own schema walker (src/config/check-schema.ts). */
export interface HelperOptions {
  helper: string;
  schema: JsonSchema;
  /** Options whose value must be a function (JSON Schema has no such type). */
  functions: Readonly<Record<string, string>>;
}

function helperOptions(properties: Record<string, JsonSchema>, functions: Record<string, string> = {}) {
  const all = { ...properties, ...Object.fromEntries(Object.keys(functions).map((k) => [k, {}])) };
  return {
    schema: { type: 'object', properties: all, additionalProperties: false } as JsonSchema,
    functions,
  };
}

/** The options of the vitest and Jest global setups (`TestRunOptions` without `runner`). */
export const SETUP_OPTIONS = helperOptions(
  {
    ...COMMON_OPTIONS,
    start: flag('start', "only lease the services' ports without starting them"),
    readyTimeoutMs: milliseconds('readyTimeoutMs', 60_000),
    verbose: flag('verbose', "show only a failed service's last lines"),
  },
  { log: 'a function that takes a line; pass e.g. log: (line) => console.log(line)' },
);

const REUSE =
  "must be false or an array of environment names; pass e.g. reuse: ['test'], or reuse: false to always start the servers";

/** The options of `berthWebServers` (Playwright). */
export const WEB_SERVER_OPTIONS = helperOptions({
  ...COMMON_OPTIONS,
  env: {
    type: 'object',
    additionalProperties: {
      type: 'string',
      errorMessage: "must be a string; pass e.g. env: { LOG_LEVEL: 'debug' }",
    },
    errorMessage:
      "must be an object of variable names to string values; pass e.g. env: { LOG_LEVEL: 'debug' }",
  },
  timeout: milliseconds('timeout', 60_000),
  baseURL: text('the name of an HTTP service', "baseURL: 'client'"),
  reuse: {
    oneOf: [
      { type: 'boolean', enum: [false], errorMessage: REUSE },
      { type: 'array', items: text('an environment name', "reuse: ['test']") },
    ],
  },
});

/**
 * Throws `E_USAGE` for the first option of `options` that `checks` does not
 * know or that has a wrong value (`undefined` counts as left out), in the words
 * the config's errors use.
 *
 * @example
 * checkOptions('berthSetup', { readyTimeoutMs: -5 }, SETUP_OPTIONS);
 * // throws: berthSetup: option readyTimeoutMs: -5 is out of range; use a value from 1 to 2147483647
 */
export function checkOptions(
  helper: string,
  options: unknown,
  checks: { schema: JsonSchema; functions: Readonly<Record<string, string>> },
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new BerthError(
      'E_USAGE',
      `${helper}: options must be an object, got ${shown(options)}. Pass e.g. { services: ['api'] }, or nothing for the defaults.`,
      { data: { helper } },
    );
  }
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const [problem] = [
    ...checkSchema(given, checks.schema),
    ...Object.entries(checks.functions)
      .filter(([key]) => key in given && typeof given[key] !== 'function')
      .map(([key, must]) => ({ path: key, message: `must be ${must}` })),
  ];
  if (problem === undefined) return;
  const option = problem.path.split(/[.[]/)[0]!;
  const known = Object.keys(checks.schema.properties ?? {});
  const message = problem.message.startsWith('unknown key')
    ? `unknown option ${problem.message.slice('unknown key '.length)}${problem.message.includes('Known keys') ? '' : ` Its options are ${known.join(', ')}.`}`
    : `option ${problem.path} ${withValue(problem.message, valueAt(given, problem.path))}`;
  throw new BerthError('E_USAGE', `${helper}: ${message.replace('Known keys:', 'Its options are')}`, {
    data: { helper, option, ...(message.startsWith('unknown') ? { known } : {}) },
  });
}

/** The value at a problem's path (`services[1]`, `env.PORT`). */
function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const part of path.match(/[^.[\]]+/g) ?? [])
    node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

/** The message with the value the caller gave, before its fix, unless it already quotes it. */
function withValue(message: string, value: unknown): string {
  const given = shown(value);
  if (message.includes(given) || message.includes(describeValue(value))) return message;
  const fix = message.indexOf('; ');
  return fix < 0 ? `${message}, got ${given}` : `${message.slice(0, fix)}, got ${given}${message.slice(fix)}`;
}

/**
 * Throws `E_UNKNOWN_SERVICE` for the first of `names` that is not a service of
 * `config` (`null`: no config was found from `cwd`), naming the helper's
 * option the name came from, the known services and the close one.
 *
 * @example
 * checkServiceOption(config, 'services', ['apii'], cwd);
 * // throws: option services names an unknown service "apii". Did you mean "api"? The services of shop are api, db: ...
 */
export function checkServiceOption(
  config: ResolvedConfig | null,
  option: string,
  names: readonly string[],
  cwd: string,
): void {
  const known = config?.services.map((s) => s.name) ?? [];
  for (const name of names) {
    if (known.includes(name)) continue;
    const data = { option, service: name, known };
    if (config === null) {
      throw new BerthError(
        'E_UNKNOWN_SERVICE',
        `option ${option} names service "${name}", but no berth config was found in ${cwd} or above, so there are no services. Create one (berth init), pass configFile or cwd, or leave ${option} out.`,
        { data },
      );
    }
    throw new BerthError(
      'E_UNKNOWN_SERVICE',
      `option ${option} names an unknown service "${name}".${didYouMean(name, known)} The services of ${config.project} are ${known.join(', ') || 'none'}: pass ${option === 'services' ? 'some' : 'one'} of those in ${option}.`,
      { data },
    );
  }
}

/**
 * Throws for a `baseURL` option that is not a service of `config`
 * (`E_UNKNOWN_SERVICE`) or whose URL is not http(s) (`E_USAGE`): the browser
 * opens only those.
 *
 * @example
 * checkBaseUrlOption(config, 'db', cwd); // throws E_USAGE: db's URL is tcp://...
 */
export function checkBaseUrlOption(config: ResolvedConfig | null, name: string, cwd: string): void {
  checkServiceOption(config, 'baseURL', [name], cwd);
  const services = config?.services ?? [];
  const web = services.filter((s) => WEB_SCHEMES.includes(schemeOf(s))).map((s) => s.name);
  if (web.includes(name)) return;
  const scheme = schemeOf(services.find((s) => s.name === name)!);
  throw new BerthError(
    'E_USAGE',
    `option baseURL names ${name}, whose URL is ${scheme}://, not http(s): a browser opens only http and https URLs. ${web.length > 0 ? `Name one of the HTTP services (${web.join(', ')}) in baseURL, or leave it out.` : 'No service of the config has an http(s) URL: leave baseURL out.'}`,
    { data: { option: 'baseURL', service: name, http: web } },
  );
}

/** The URL schemes a browser opens (`baseURL`). */
const WEB_SCHEMES: readonly string[] = ['http', 'https'];

/** A value as the caller wrote it: strings quoted, so `'2'` does not read as `2`. */
export function shown(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
