/**
 * The options of the runners' helpers (`berthSetup`, `createGlobalSetup`,
 * `berthWebServers`), checked before anything is leased: a wrong type, a
 * negative timeout or a misspelt key ends in one `E_USAGE` that names the
 * helper, the option and the fix, instead of being silently ignored or
 * misread (a string taken for a list of services, a timeout that fires at once).
 */
import { ENVIRONMENT_NAME_PATTERN } from '../../config/schema.js';
import { schemeOf } from '../../core/endpoints.js';
import { didYouMean } from '../../core/suggest.js';
import type { ResolvedConfig } from '../../core/types.js';
import { BerthError } from '../../errors.js';

/** What a wrong value must be instead, and how to fix it; `null` when the value is fine. */
type OptionCheck = (value: unknown) => { must: string; fix: string } | null;

/** setTimeout's ceiling: a longer delay fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

const ENVIRONMENT_NAME = new RegExp(ENVIRONMENT_NAME_PATTERN);

const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

function text(what: string, example: string): OptionCheck {
  return (value) =>
    isText(value) ? null : { must: `a non-empty string (${what})`, fix: `Pass e.g. ${example}.` };
}

function flag(key: string, meaning: string): OptionCheck {
  return (value) =>
    typeof value === 'boolean' ? null : { must: 'true or false', fix: `Pass ${key}: false to ${meaning}.` };
}

function milliseconds(key: string, defaultMs: number): OptionCheck {
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_TIMER_MS
      ? null
      : {
          must: `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
          fix: `Pass e.g. ${key}: 120000, or leave it out for ${defaultMs}.`,
        };
}

const names =
  (key: string, what: string, example: string): OptionCheck =>
  (value) =>
    Array.isArray(value) && value.every(isText)
      ? null
      : { must: `an array of ${what}`, fix: `Pass e.g. ${key}: ${example}.` };

const environment: OptionCheck = (value) =>
  typeof value === 'string' && ENVIRONMENT_NAME.test(value)
    ? null
    : {
        must: 'an environment name of the config (letters, digits, ".", "_" or "-", starting with a letter or digit)',
        fix: "Pass e.g. environment: 'test', or leave it out for test.",
      };

/** The options every helper takes: where the config is, which environment and services, which registry. */
const COMMON_OPTIONS: Readonly<Record<string, OptionCheck>> = {
  cwd: text('a folder', 'cwd: import.meta.dirname'),
  configFile: text('a config file, relative to cwd', "configFile: 'berth.config.json'"),
  environment,
  services: names('services', 'service names', "['api']"),
  home: text('the registry folder', "home: '/tmp/berth-home'"),
};

/** The options of the vitest and Jest global setups (`TestRunOptions` without `runner`). */
export const SETUP_OPTIONS: Readonly<Record<string, OptionCheck>> = {
  ...COMMON_OPTIONS,
  start: flag('start', "only lease the services' ports without starting them"),
  readyTimeoutMs: milliseconds('readyTimeoutMs', 60_000),
  log: (value) =>
    typeof value === 'function'
      ? null
      : { must: 'a function that takes a line', fix: 'Pass e.g. log: (line) => console.log(line).' },
  verbose: flag('verbose', "show only a failed service's last lines"),
};

/** The options of `berthWebServers` (Playwright). */
export const WEB_SERVER_OPTIONS: Readonly<Record<string, OptionCheck>> = {
  ...COMMON_OPTIONS,
  env: (value) =>
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
      ? null
      : {
          must: 'an object of variable names to string values',
          fix: "Pass e.g. env: { LOG_LEVEL: 'debug' }.",
        },
  timeout: milliseconds('timeout', 60_000),
  baseURL: text('the name of an HTTP service', "baseURL: 'client'"),
  reuse: (value) =>
    value === false || (Array.isArray(value) && value.every(isText))
      ? null
      : {
          must: 'false or an array of environment names',
          fix: "Pass e.g. reuse: ['test'], or reuse: false to always start the servers.",
        },
};

/**
 * Throws `E_USAGE` for the first option of `options` that `checks` does not
 * know or that has a wrong value (`undefined` counts as left out).
 *
 * @example
 * checkOptions('berthSetup', { readyTimeoutMs: -5 }, SETUP_OPTIONS);
 * // throws: berthSetup: option readyTimeoutMs must be a whole number of milliseconds from 1 to 2147483647, got -5. ...
 */
export function checkOptions(
  helper: string,
  options: unknown,
  checks: Readonly<Record<string, OptionCheck>>,
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new BerthError(
      'E_USAGE',
      `${helper}: options must be an object, got ${shown(options)}. Pass e.g. { services: ['api'] }, or nothing for the defaults.`,
      { data: { helper } },
    );
  }
  const known = Object.keys(checks);
  for (const [key, value] of Object.entries(options)) {
    const check = checks[key];
    if (check === undefined) {
      throw new BerthError(
        'E_USAGE',
        `${helper}: unknown option "${key}".${didYouMean(key, known)} Its options are ${known.join(', ')}.`,
        { data: { helper, option: key, known } },
      );
    }
    if (value === undefined) continue;
    const wrong = check(value);
    if (wrong !== null) {
      throw new BerthError(
        'E_USAGE',
        `${helper}: option ${key} must be ${wrong.must}, got ${shown(value)}. ${wrong.fix}`,
        { data: { helper, option: key } },
      );
    }
  }
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
