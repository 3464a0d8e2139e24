import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import type { ResolvedConfig } from '../../core/types.js';
import { type BerthError, isBerthError } from '../../errors.js';
import {
  checkBaseUrlOption,
  checkOptions,
  checkServiceOption,
  SETUP_OPTIONS,
  WEB_SERVER_OPTIONS,
} from './options.js';

/** The error `work` throws (the test fails when it throws none). */
function thrown(work: () => void): BerthError {
  try {
    work();
  } catch (error) {
    if (isBerthError(error)) return error;
    throw error;
  }
  throw new Error('nothing thrown');
}

describe('checkOptions', () => {
  it('takes the defaults, every known option, and undefined as left out', () => {
    expect(() => checkOptions('berthSetup', undefined, SETUP_OPTIONS)).not.toThrow();
    expect(() =>
      checkOptions(
        'berthSetup',
        {
          cwd: '/x',
          configFile: 'berth.config.json',
          environment: 'ci.e2e',
          start: false,
          readyTimeoutMs: 1,
          home: '/tmp/h',
          log: () => {},
          verbose: true,
          services: undefined,
        },
        SETUP_OPTIONS,
      ),
    ).not.toThrow();
    expect(() =>
      checkOptions(
        'berthWebServers',
        { env: { A: 'b' }, timeout: 5000, baseURL: 'client', reuse: false, services: ['client'] },
        WEB_SERVER_OPTIONS,
      ),
    ).not.toThrow();
  });

  it.each([
    [
      { readyTimeoutMs: -5 },
      'berthSetup: option readyTimeoutMs -5 is out of range; use a value from 1 to 2147483647',
    ],
    [
      { readyTimeoutMs: 'soon' },
      'berthSetup: option readyTimeoutMs must be a whole number, not "soon"; write a duration in milliseconds, e.g. 60000',
    ],
    [
      { readyTimeoutMs: '5s' },
      'option readyTimeoutMs must be a whole number, not "5s"; write 5000 (milliseconds)',
    ],
    [{ readyTimeoutMs: 2 ** 31 }, 'option readyTimeoutMs 2147483648 is out of range'],
    [
      { start: 'no' },
      `berthSetup: option start must be true or false, got "no"; pass start: false to only lease the services' ports`,
    ],
    [
      { services: 'api' },
      `option services must be an array of service names, got "api"; pass e.g. services: ['api']`,
    ],
    [{ services: ['api', ''] }, `option services[1] "" is blank; pass service names, e.g. services: ['api']`],
    [{ verbose: 1 }, 'option verbose must be true or false, got 1;'],
    [
      { log: 'stderr' },
      'option log must be a function that takes a line, got "stderr"; pass e.g. log: (line) => console.log(line)',
    ],
    [
      { configFile: '' },
      `option configFile "" is blank; pass a config file, relative to cwd, e.g. configFile: 'berth.config.json'`,
    ],
    [{ environment: '../x' }, 'option environment "../x" is not an environment name'],
    [
      { service: ['api'] },
      'berthSetup: unknown option "service". Did you mean "services"? Its options are cwd, configFile, environment, services, home, start, readyTimeoutMs, verbose, log.',
    ],
    [{ timeout: 1000 }, 'berthSetup: unknown option "timeout". Its options are'],
  ])('setup options %j: E_USAGE naming the option and the fix', (options, message) => {
    const error = thrown(() => checkOptions('berthSetup', options, SETUP_OPTIONS));
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toContain(message);
  });

  it.each([
    [
      { env: 'x' },
      `berthWebServers: option env must be an object of variable names to string values, got "x"; pass e.g. env: { LOG_LEVEL: 'debug' }`,
    ],
    [
      { env: { PORT: 3000 } },
      `option env.PORT must be a string, got 3000; pass e.g. env: { LOG_LEVEL: 'debug' }`,
    ],
    [{ timeout: -1 }, 'option timeout -1 is out of range; use a value from 1 to 2147483647'],
    [{ baseURL: '' }, `option baseURL "" is blank; pass the name of an HTTP service, e.g. baseURL: 'client'`],
    [
      { reuse: true },
      "option reuse must be false or an array of environment names, got true; pass e.g. reuse: ['test'], or reuse: false",
    ],
    [{ reuse: 'test' }, 'option reuse must be true or false or a list, not "test"'],
    [{ readyTimeoutMs: 100 }, 'berthWebServers: unknown option "readyTimeoutMs".'],
    [{ baseUrl: 'client' }, 'unknown option "baseUrl". Did you mean "baseURL"?'],
  ])('web server options %j: E_USAGE naming the option and the fix', (options, message) => {
    const error = thrown(() => checkOptions('berthWebServers', options, WEB_SERVER_OPTIONS));
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toContain(message);
  });

  it('refuses options that are not an object', () => {
    for (const options of [null, 'api', ['api'], 3]) {
      const error = thrown(() => checkOptions('createGlobalSetup', options, SETUP_OPTIONS));
      expect(error.code).toBe('E_USAGE');
      expect(error.message).toMatch(/^createGlobalSetup: options must be an object, got /);
    }
  });
});

describe('checkServiceOption and checkBaseUrlOption', () => {
  let root = '';
  let config: ResolvedConfig;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-options-'));
    writeFileSync(
      join(root, 'berth.config.json'),
      JSON.stringify({
        project: 'shop',
        services: {
          api: { preferred: [3000] },
          client: { preferred: [3001], requires: ['https'] },
          db: { preferred: [5432], requires: ['tcp'] },
        },
      }),
    );
    config = (await loadConfig({ cwd: root, environment: 'test' })).config;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('names the option, the known services and the close one for an unknown name in services', () => {
    expect(() => checkServiceOption(config, 'services', ['api', 'db'], root)).not.toThrow();
    const error = thrown(() => checkServiceOption(config, 'services', ['api', 'apii'], root));
    expect(error.code).toBe('E_UNKNOWN_SERVICE');
    expect(error.message).toBe(
      'option services names an unknown service "apii". Did you mean "api"? The services of shop are api, client, db: pass some of those in services.',
    );
    expect(error.message).not.toContain('Declare it');
    expect(error.data).toMatchObject({ option: 'services', service: 'apii', known: ['api', 'client', 'db'] });
  });

  it('says there is no config when a name is given without one', () => {
    const error = thrown(() => checkServiceOption(null, 'services', ['api'], root));
    expect(error.code).toBe('E_UNKNOWN_SERVICE');
    expect(error.message).toContain(
      `option services names service "api", but no berth config was found in ${root}`,
    );
  });

  it('takes an http(s) service as baseURL, refuses an unknown one and one whose URL is not http(s)', () => {
    expect(() => checkBaseUrlOption(config, 'api', root)).not.toThrow();
    expect(() => checkBaseUrlOption(config, 'client', root)).not.toThrow();
    const unknown = thrown(() => checkBaseUrlOption(config, 'nope', root));
    expect(unknown.code).toBe('E_UNKNOWN_SERVICE');
    expect(unknown.message).toContain('option baseURL names an unknown service "nope".');
    expect(unknown.message).toContain('pass one of those in baseURL');
    const tcp = thrown(() => checkBaseUrlOption(config, 'db', root));
    expect(tcp.code).toBe('E_USAGE');
    expect(tcp.message).toBe(
      'option baseURL names db, whose URL is tcp://, not http(s): a browser opens only http and https URLs. Name one of the HTTP services (api, client) in baseURL, or leave it out.',
    );
  });
});
