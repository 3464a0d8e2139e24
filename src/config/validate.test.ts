import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POOL } from '../core/policy.js';
import { leaseOnly } from '../core/stack.js';
import type { ServiceSpec } from '../core/types.js';
import { formatProblems, validateConfig } from './validate.js';

const ctx = { dir: '/projects/shop', file: '/projects/shop/berth.config.json', environment: 'development' };

/** The example config (examples/berth.config.json). */
const example = (): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL('../../examples/berth.config.json', import.meta.url), 'utf8'));

// biome-ignore lint/suspicious/noExplicitAny: the table breaks configs on purpose, typing them would defeat it
type RawConfig = Record<string, any>;

/** A small valid config the table cases break one thing at a time. */
function base(): RawConfig {
  return {
    services: {
      server: { preferred: [3000], range: { min: 3000, max: 3999 } },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      client: { preferred: [3001] },
    },
  };
}

function broken(edit: (c: RawConfig) => void): RawConfig {
  const c = base();
  edit(c);
  return c;
}

const service = (services: readonly ServiceSpec[], name: string): ServiceSpec => {
  const found = services.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
};

type Case = [name: string, config: unknown, path: string, fix?: string];

const cases: Case[] = [
  [
    'port 0',
    broken((c) => (c.services.server.preferred = [0])),
    'services.server.preferred[0]',
    'from 1 to 65535',
  ],
  [
    'port 65536',
    broken((c) => (c.services.server.preferred = [65536])),
    'services.server.preferred[0]',
    '65535',
  ],
  [
    'port -1',
    broken((c) => (c.services.client.preferred = [-1])),
    'services.client.preferred[0]',
    'from 1 to',
  ],
  [
    'port 3000.5',
    broken((c) => (c.services.server.preferred = [3000.5])),
    'services.server.preferred[0]',
    'whole',
  ],
  [
    'port as a string',
    broken((c) => (c.services.server.preferred = ['3000'])),
    'services.server.preferred[0]',
    'write 3000 without quotes',
  ],
  [
    'range max as a string',
    broken((c) => (c.services.server.range = { min: 3000, max: '3999' })),
    'services.server.range.max',
    'write 3999 without quotes',
  ],
  [
    'min above max',
    broken((c) => (c.services.server.range = { min: 4000, max: 3000 })),
    'services.server.range',
    'swap them',
  ],
  [
    'range as a list',
    broken((c) => (c.services.server.range = [3000, 3999])),
    'services.server.range',
    'write { "min": 3000, "max": 3999 }',
  ],
  [
    'range without max',
    broken((c) => (c.services.server.range = { min: 3000 })),
    'services.server.range.max',
  ],
  [
    'misspelt service key',
    broken((c) => (c.services.client = { prefered: [3001] })),
    'services.client.prefered',
    'Did you mean "preferred"?',
  ],
  [
    'seed key at the top level',
    broken((c) => (c.conflictResolutionStrategy = 'minimal')),
    'conflictResolutionStrategy',
    'Did you mean "strategy"?',
  ],
  [
    'misspelt range key',
    broken((c) => (c.services.server.range.mx = 4000)),
    'services.server.range.mx',
    '"max"',
  ],
  [
    'inheritFrom a missing service',
    broken((c) => (c.services.websocket.inheritFrom = 'sever')),
    'services.websocket.inheritFrom',
    'Did you mean "server"?',
  ],
  [
    'inheritFrom itself',
    broken((c) => (c.services.server.inheritFrom = 'server')),
    'services.server.inheritFrom',
    'itself',
  ],
  [
    'inheritance cycle',
    { services: { a: { inheritFrom: 'b' }, b: { inheritFrom: 'a' }, c: {} } },
    'services.a.inheritFrom',
    'a -> b -> a',
  ],
  [
    'inheriting service with preferred',
    broken((c) => (c.services.websocket.preferred = [3005])),
    'services.websocket.preferred',
    'remove preferred or inheritFrom',
  ],
  [
    'inheriting service with range',
    broken((c) => (c.services.websocket.range = { min: 3000, max: 3100 })),
    'services.websocket.range',
  ],
  [
    'conflict with a missing service',
    broken((c) => (c.services.server.conflicts = ['clinet'])),
    'services.server.conflicts[0]',
    'Did you mean "client"?',
  ],
  [
    'conflict with itself',
    broken((c) => (c.services.server.conflicts = ['server'])),
    'services.server.conflicts[0]',
    'itself',
  ],
  [
    'conflict with the inherited service',
    broken((c) => (c.services.websocket.conflicts = ['server'])),
    'services.websocket.conflicts[0]',
    'share the port of server',
  ],
  [
    'conflict between two heirs of one service',
    {
      services: {
        c: { preferred: [4000] },
        a: { inheritFrom: 'c', conflicts: ['b'] },
        b: { inheritFrom: 'c' },
      },
    },
    'services.a.conflicts[0]',
  ],
  [
    'unknown priority',
    broken((c) => (c.services.server.priority = 'urgent')),
    'services.server.priority',
    'high',
  ],
  ['unknown requires', broken((c) => (c.services.server.requires = ['ws'])), 'services.server.requires[0]'],
  [
    'empty requires',
    broken((c) => (c.services.server.requires = [])),
    'services.server.requires',
    'at least 1',
  ],
  ['unknown strategy', broken((c) => (c.strategy = 'fast')), 'strategy', 'minimal, aggressive'],
  [
    'override of a missing service',
    broken((c) => (c.environments = { test: { services: { sever: { preferred: [] } } } })),
    'environments.test.services.sever',
    'Did you mean "server"?',
  ],
  [
    'misspelt override key',
    broken((c) => (c.environments = { test: { stratgy: 'strict' } })),
    'environments.test.stratgy',
    'Did you mean "strategy"?',
  ],
  [
    'privileged port in an override',
    broken((c) => (c.environments = { prod: { services: { server: { preferred: [80] } } } })),
    'environments.prod.services.server.preferred[0]',
    'allowPrivileged',
  ],
  [
    'reserved name environment',
    broken((c) => (c.services.environment = {})),
    'services.environment',
    'reserved',
  ],
  ['reserved name urls', broken((c) => (c.services.urls = {})), 'services.urls', 'reserved'],
  ['service name with a space', broken((c) => (c.services['my api'] = {})), 'services["my api"]', 'letter'],
  ['service name with a digit first', broken((c) => (c.services['1st'] = {})), 'services["1st"]'],
  [
    'duplicate preferred port',
    broken((c) => (c.services.server.preferred = [3000, 3001, 3000])),
    'services.server.preferred[2]',
    'listed twice',
  ],
  [
    'privileged preferred port',
    broken((c) => (c.services.server.preferred = [80])),
    'services.server.preferred[0]',
    'allowPrivileged: true',
  ],
  [
    'privileged range',
    broken((c) => (c.services.server.range = { min: 80, max: 3999 })),
    'services.server.range.min',
    'allowPrivileged',
  ],
  [
    'duplicate env var',
    broken((c) => (c.services.client.portEnv = 'SERVER_PORT')),
    'services.client.portEnv',
    'also the variable of services.server',
  ],
  [
    'default env vars colliding',
    { services: { 'my-api': {}, my_api: {} } },
    'services.my_api.portEnv',
    'MY_API_PORT',
  ],
  [
    'URL variables colliding',
    { services: { 'web-socket': {}, webSocket: { portEnv: 'WS_PORT' } } },
    'services.webSocket',
    'would both publish WEB_SOCKET_URL; rename one',
  ],
  [
    'env taking the URL variable of another service',
    broken((c) => (c.services.server.portEnv = 'CLIENT_URL')),
    'services.client',
    'would both publish CLIENT_URL',
  ],
  [
    "env equal to the service's own URL variable",
    broken((c) => (c.services.server.portEnv = 'SERVER_URL')),
    'services.server.portEnv',
    'also the URL variable of services.server',
  ],
  [
    'invalid portEnv name',
    broken((c) => (c.services.server.portEnv = '1PORT')),
    'services.server.portEnv',
    'shell',
  ],
  [
    'env as a string (the old name of portEnv)',
    broken((c) => (c.services.server.env = 'PGPORT')),
    'services.server.env',
    'rename `env` to `portEnv`',
  ],
  [
    'env variable with a bad name',
    broken((c) => (c.services.server.env = { '1X': 'a' })),
    'services.server.env["1X"]',
    'shell variable name',
  ],
  [
    'env value that is not a string',
    broken((c) => (c.services.server.env = { DEBUG: 1 })),
    'services.server.env.DEBUG',
    'must be a string',
  ],
  ['services missing', { strategy: 'minimal' }, 'services', 'missing'],
  ['services empty', { services: {} }, 'services', 'at least 1'],
  ['services as an array', { services: [{ name: 'server' }] }, 'services', 'must be an object'],
  [
    'preferred as a number',
    broken((c) => (c.services.server.preferred = 3000)),
    'services.server.preferred',
    '[3000]',
  ],
  ['config as an array', [], '', 'must be an object'],
  [
    'exclude range too wide',
    broken((c) => (c.exclude = [{ min: 20000, max: 40000 }])),
    'exclude[0]',
    '10000',
  ],
  [
    'exclude range reversed',
    broken((c) => (c.exclude = [8080, { min: 9010, max: 9000 }])),
    'exclude[1]',
    'swap',
  ],
  ['exclude entry of the wrong type', broken((c) => (c.exclude = ['8080'])), 'exclude[0]', 'without quotes'],
  [
    'tcp health check with a path',
    broken((c) => (c.services.server.health = { type: 'tcp', path: '/health' })),
    'services.server.health.path',
    'type: "http"',
  ],
  [
    'health path without a slash',
    broken((c) => (c.services.server.health = { path: 'health' })),
    'services.server.health.path',
    'start with /',
  ],
  [
    'healthCheckTimeout 0',
    broken((c) => (c.healthCheckTimeout = 0)),
    'healthCheckTimeout',
    'from 1 to 600000',
  ],
  ['maxRetries above 100', broken((c) => (c.maxRetries = 101)), 'maxRetries'],
  [
    'boolean as a string',
    broken((c) => (c.enableHealthChecks = 'false')),
    'enableHealthChecks',
    'write false without quotes',
  ],
  ['empty project name', broken((c) => (c.project = '')), 'project', 'empty'],
  [
    'dependsOn a missing service',
    broken((c) => (c.services.client.dependsOn = ['sever'])),
    'services.client.dependsOn[0]',
    'Did you mean "server"?',
  ],
  [
    'dependsOn itself',
    broken((c) => (c.services.client.dependsOn = ['client'])),
    'services.client.dependsOn[0]',
    'cannot depend on itself; remove it from dependsOn',
  ],
  [
    'dependency cycle',
    broken((c) => {
      c.services.client.dependsOn = ['server'];
      c.services.server.dependsOn = ['client'];
    }),
    'services.server.dependsOn[0]',
    'dependency cycle server -> client -> server; remove one of these dependsOn entries',
  ],
  [
    'dependency cycle through inheritFrom',
    broken((c) => (c.services.server.dependsOn = ['websocket'])),
    'services.server.dependsOn[0]',
    'server -> websocket -> server',
  ],
  [
    'dependsOn listing a service twice',
    broken((c) => (c.services.client.dependsOn = ['server', 'server'])),
    'services.client.dependsOn[1]',
    'listed twice',
  ],
  [
    'command as a number',
    broken((c) => (c.services.server.command = 42)),
    'services.server.command',
    'a string or a list',
  ],
  ['empty command', broken((c) => (c.services.server.command = '')), 'services.server.command', 'empty'],
  [
    'empty command list',
    broken((c) => (c.services.server.command = [])),
    'services.server.command',
    'at least 1',
  ],
  [
    'command list with a number',
    broken((c) => (c.services.server.command = ['node', 1])),
    'services.server.command[1]',
  ],
  [
    'unknown restart policy',
    broken((c) => (c.services.server.restart = 'on-failur')),
    'services.server.restart',
    'Did you mean "on-failure"?',
  ],
  ['restart as a boolean', broken((c) => (c.services.server.restart = true)), 'services.server.restart'],
  [
    'negative maxRestarts',
    broken((c) => (c.services.server.maxRestarts = -1)),
    'services.server.maxRestarts',
  ],
  [
    'unknown stopSignal',
    broken((c) => (c.services.server.stopSignal = 'SIGSTOP')),
    'services.server.stopSignal',
    'SIGTERM',
  ],
  [
    'stopTimeout as seconds text',
    broken((c) => (c.services.server.stopTimeout = '10s')),
    'services.server.stopTimeout',
    'whole number',
  ],
  [
    'stopTimeout too long',
    broken((c) => (c.services.server.stopTimeout = 600_001)),
    'services.server.stopTimeout',
    'from 0 to 600000',
  ],
  [
    'tcp ready check with a path',
    broken((c) => (c.services.server.ready = { type: 'tcp', path: '/ready' })),
    'services.server.ready.path',
    'type: "http"',
  ],
  [
    'ready as a boolean',
    broken((c) => (c.services.server.ready = true)),
    'services.server.ready',
    'an object',
  ],
  [
    'env setting PORT',
    broken((c) => (c.services.server.env = { PORT: '1' })),
    'services.server.env.PORT',
    "berth sets PORT to server's port itself",
  ],
  [
    "env setting another service's URL variable",
    broken((c) => (c.services.server.env = { CLIENT_URL: 'x' })),
    'services.server.env.CLIENT_URL',
    'a variable of services.client',
  ],
  ['cwd empty', broken((c) => (c.services.server.cwd = '')), 'services.server.cwd', 'empty'],
  [
    'unknown dependency in an environment override',
    broken((c) => (c.environments = { test: { services: { client: { dependsOn: ['nope'] } } } })),
    'environments.test.services.client.dependsOn[0]',
    'is not a service',
  ],
  [
    'environment name with a space',
    broken((c) => (c.environments = { 'my env': {} })),
    'environments["my env"]',
  ],
];

describe('validateConfig: bad configs', () => {
  it('has a broad table', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('%s -> %s', (_name, config, path, fix) => {
    const { config: resolved, errors } = validateConfig(config, ctx);
    expect(resolved).toBeNull();
    const atPath = errors.filter((e) => e.path === path);
    expect(atPath, JSON.stringify(errors, null, 2)).not.toHaveLength(0);
    if (fix !== undefined) expect(atPath.map((e) => e.message).join('\n')).toContain(fix);
  });

  it('the base config of the table is valid', () => {
    expect(validateConfig(base(), ctx).errors).toEqual([]);
  });
});

describe('validateConfig: the issue example', () => {
  it('validates without errors or warnings', () => {
    const result = validateConfig(example(), ctx);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.config).not.toBeNull();
  });

  it('normalises services for development', () => {
    const config = validateConfig(example(), ctx).config!;
    expect(config).toMatchObject({
      project: 'shop',
      dir: ctx.dir,
      file: ctx.file,
      environment: 'development',
      strategy: 'minimal',
      healthCheckTimeout: 5000,
      maxRetries: 5,
      enableHealthChecks: true,
      autoReassign: true,
      exclude: [],
    });
    expect(config.services.map((s) => s.name)).toEqual([
      'server',
      'websocket',
      'client',
      'database',
      'redis',
      'monitoring',
    ]);
    const server = service(config.services, 'server');
    expect(server).toEqual({
      name: 'server',
      preferred: [3000, 3001, 3002],
      range: { min: 3000, max: 3999 },
      priority: 'high',
      requires: ['http'],
      conflicts: ['client'],
      inheritFrom: null,
      envVar: 'SERVER_PORT',
      allowPrivileged: false,
      health: { type: 'http', path: '/', expectStatus: null, intervalMs: 1000, timeoutMs: 5000 },
      // No command: berth up only leases it; were something to wait for it, its health check would say when.
      run: { ...leaseOnly(ctx.dir), ready: server.health },
    });
    const websocket = service(config.services, 'websocket');
    expect(websocket).toMatchObject({
      preferred: [],
      range: null,
      requires: ['websocket'],
      inheritFrom: 'server',
      envVar: 'WEBSOCKET_PORT',
    });
    // Conflicts are symmetric.
    expect(service(config.services, 'client').conflicts).toEqual(['server']);
    expect(service(config.services, 'database')).toMatchObject({
      priority: 'medium',
      requires: ['tcp'],
      health: { type: 'tcp', timeoutMs: 5000 },
    });
  });

  it('applies the test environment only under --env test', () => {
    const test = validateConfig(example(), { ...ctx, environment: 'test' }).config!;
    expect(test.environment).toBe('test');
    expect(test.strategy).toBe('conservative');
    expect(service(test.services, 'server').preferred).toEqual([]);
    expect(service(test.services, 'server').range).toEqual({ min: 3000, max: 3999 });
    const dev = validateConfig(example(), ctx).config!;
    expect(dev.strategy).toBe('minimal');
    expect(service(dev.services, 'server').preferred).toEqual([3000, 3001, 3002]);
  });

  it('defaults the project to the folder name', () => {
    const { project: _drop, ...rest } = example();
    expect(validateConfig(rest, { ...ctx, dir: '/src/cart' }).config!.project).toBe('cart');
  });
});

describe('validateConfig: defaults and normalisation', () => {
  it('gives a service with no ports the default pool, and one with only preferred ports no range', () => {
    const { config } = validateConfig(
      { services: { a: {}, b: { preferred: [4000] }, c: { preferred: [] } } },
      ctx,
    );
    expect(service(config!.services, 'a').range).toEqual(DEFAULT_POOL);
    expect(service(config!.services, 'b').range).toBeNull();
    expect(service(config!.services, 'c').range).toEqual(DEFAULT_POOL);
    expect(service(config!.services, 'a').requires).toEqual(['http']);
  });

  it('inherits requires along the chain and derives env var names', () => {
    const { config } = validateConfig(
      {
        services: {
          db: { requires: ['tcp'] },
          proxy: { inheritFrom: 'db' },
          apiServer: { inheritFrom: 'proxy' },
        },
      },
      ctx,
    );
    expect(service(config!.services, 'apiServer').requires).toEqual(['tcp']);
    expect(service(config!.services, 'apiServer').envVar).toBe('API_SERVER_PORT');
  });

  it.each([
    ['webSocket', 'WEB_SOCKET_PORT'],
    ['web-socket', 'WEB_SOCKET_PORT'],
    ['api2', 'API2_PORT'],
    ['redisCache2', 'REDIS_CACHE2_PORT'],
  ])('names the port variable of %s %s, by the same rule as its URL variable', (name, envVar) => {
    const { config, errors } = validateConfig({ services: { [name]: {} } }, ctx);
    expect(errors).toEqual([]);
    expect(service(config!.services, name).envVar).toBe(envVar);
  });

  it('expands exclude and honours allowPrivileged and health settings', () => {
    const { config, errors } = validateConfig(
      {
        allowPrivileged: true,
        healthCheckTimeout: 2000,
        exclude: [3005, { min: 3001, max: 3003 }, 3002],
        services: {
          web: { preferred: [80], health: { path: '/healthz', expectStatus: 204, intervalMs: 500 } },
          tls: { preferred: [8443], requires: ['https'] },
          quiet: { preferred: [8081], health: false },
        },
      },
      ctx,
    );
    expect(errors).toEqual([]);
    expect(config!.exclude).toEqual([3001, 3002, 3003, 3005]);
    expect(service(config!.services, 'web')).toMatchObject({
      allowPrivileged: true,
      health: { type: 'http', path: '/healthz', expectStatus: 204, intervalMs: 500, timeoutMs: 2000 },
    });
    expect(service(config!.services, 'tls').health?.type).toBe('tcp');
    expect(service(config!.services, 'quiet').health).toBeNull();
  });

  it('has no health checks when they are disabled', () => {
    const { config } = validateConfig(
      { enableHealthChecks: false, services: { a: { health: { path: '/' } } } },
      ctx,
    );
    expect(service(config!.services, 'a').health).toBeNull();
  });
});

describe('validateConfig: berth up keys', () => {
  const stack = (over: RawConfig = {}) =>
    validateConfig(
      {
        services: {
          db: { requires: ['tcp'], command: 'node db.js', ready: { timeoutMs: 300 } },
          api: {
            command: ['node', 'api.js'],
            cwd: 'services/api',
            env: { NODE_ENV: 'test' },
            dependsOn: ['db'],
            restart: 'on-failure',
            maxRestarts: 3,
            stopSignal: 'SIGINT',
            stopTimeout: 2000,
          },
          ws: { inheritFrom: 'api', requires: ['websocket'] },
          cache: { requires: ['tcp'] },
          ...over,
        },
      },
      ctx,
    );

  it('resolves commands, folders, variables and policies', () => {
    const { config, errors, warnings } = stack();
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(service(config!.services, 'api').run).toEqual({
      command: { kind: 'exec', argv: ['node', 'api.js'] },
      cwd: '/projects/shop/services/api',
      env: { NODE_ENV: 'test' },
      dependsOn: ['db'],
      ready: { type: 'http', path: '/', expectStatus: null, intervalMs: 1000, timeoutMs: 5000 },
      restart: 'on-failure',
      maxRestarts: 3,
      stopSignal: 'SIGINT',
      stopTimeoutMs: 2000,
    });
  });

  it('runs a string command through the shell, and judges readiness by ready, else health', () => {
    const { config } = stack();
    const db = service(config!.services, 'db');
    expect(db.run).toMatchObject({
      command: { kind: 'shell', line: 'node db.js' },
      cwd: '/projects/shop',
      restart: 'no',
      maxRestarts: null,
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 10_000,
      // A declared ready fills its type from requires, like health.
      ready: { type: 'tcp', timeoutMs: 300 },
    });
    expect(service(config!.services, 'cache').run).toMatchObject({ command: null, ready: db.health });
  });

  it('keeps a declared ready check when health checks are off', () => {
    const { config } = validateConfig(
      {
        enableHealthChecks: false,
        services: { a: { command: 'x', ready: { path: '/up' } }, b: { command: 'y' } },
      },
      ctx,
    );
    expect(service(config!.services, 'a').run.ready).toMatchObject({ type: 'http', path: '/up' });
    expect(service(config!.services, 'b').run.ready).toBeNull();
  });

  it('warns about keys that need a command on a service without one', () => {
    const { errors, warnings } = stack({
      cache: { requires: ['tcp'], restart: 'always', dependsOn: ['db'] },
      ws: { inheritFrom: 'api', requires: ['websocket'], stopSignal: 'SIGINT' },
    });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      {
        path: 'services.ws.stopSignal',
        message: expect.stringContaining(
          "berth up serves it with api's process, so stopSignal does nothing here",
        ),
      },
      { path: 'services.cache.restart', message: expect.stringContaining('add a command or remove restart') },
      { path: 'services.cache.dependsOn', message: expect.stringContaining('does not run it') },
    ]);
  });

  it("validates the README's example stack (examples/stack) without errors or warnings", () => {
    const raw = JSON.parse(
      readFileSync(new URL('../../examples/stack/berth.config.json', import.meta.url), 'utf8'),
    );
    const { config, errors, warnings } = validateConfig(raw, { ...ctx, dir: '/x/stack' });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(config!.services.filter((s) => s.run.command !== null).map((s) => s.name)).toEqual([
      'db',
      'api',
      'web',
    ]);
  });

  it('warns that maxRestarts does nothing with restart "no"', () => {
    const { warnings } = stack({ db: { requires: ['tcp'], command: 'x', maxRestarts: 2 } });
    expect(warnings).toEqual([
      { path: 'services.db.maxRestarts', message: expect.stringContaining('restart is "no"') },
    ]);
  });
});

describe('validateConfig: reporting', () => {
  it('reports every problem at once', () => {
    const { config, errors } = validateConfig(
      {
        strategy: 'fast',
        services: {
          server: { preferred: [0, '3001'], priority: 'urgent' },
          websocket: { inheritFrom: 'sever' },
          client: { prefered: [3001] },
        },
      },
      ctx,
    );
    expect(config).toBeNull();
    expect(errors.map((e) => e.path).sort()).toEqual([
      'services.client.prefered',
      'services.server.preferred[0]',
      'services.server.preferred[1]',
      'services.server.priority',
      'services.websocket.inheritFrom',
      'strategy',
    ]);
  });

  it('formats problems as path: message lines', () => {
    const { errors } = validateConfig(
      broken((c) => (c.services.websocket.inheritFrom = 'sever')),
      ctx,
    );
    expect(formatProblems(errors)).toEqual([
      'services.websocket.inheritFrom: "sever" is not a service. Did you mean "server"?',
    ]);
    expect(formatProblems([{ path: '', message: 'must be an object, not an array' }])).toEqual([
      'the config must be an object, not an array',
    ]);
  });

  it('says which environment causes a problem the base config lacks', () => {
    const { errors } = validateConfig(
      broken((c) => (c.environments = { test: { services: { client: { inheritFrom: 'server' } } } })),
      ctx,
    );
    expect(errors).toEqual([
      {
        path: 'services.client.preferred',
        message: expect.stringContaining('(in environment "test")'),
      },
    ]);
  });

  it('points into an environment whose name is not a plain key, without repeating the environment', () => {
    const { errors } = validateConfig(
      broken((c) => (c.environments = { 'ci.linux': { services: { server: { preferred: [80] } } } })),
      ctx,
    );
    expect(errors).toEqual([
      {
        path: 'environments["ci.linux"].services.server.preferred[0]',
        message: expect.not.stringContaining('(in environment'),
      },
    ]);
  });

  it('warns about preferred ports outside the range, blocked by browsers, or excluded', () => {
    const { config, warnings } = validateConfig(
      {
        exclude: [3001],
        services: {
          web: { preferred: [6000, 4500, 3001], range: { min: 3000, max: 3999 } },
          x11: { preferred: [6001, 6000], requires: ['tcp'] },
        },
      },
      ctx,
    );
    expect(config).not.toBeNull();
    expect(warnings.map((w) => w.path)).toEqual([
      'services.web.preferred[0]',
      'services.web.preferred[0]',
      'services.web.preferred[1]',
      'services.web.preferred[2]',
    ]);
    expect(warnings[1]!.message).toContain('browsers refuse');
  });

  it('does not echo a type error as a rule error', () => {
    const { errors } = validateConfig(
      broken((c) => (c.services.websocket.inheritFrom = 42)),
      ctx,
    );
    expect(errors).toEqual([{ path: 'services.websocket.inheritFrom', message: 'must be a string, not 42' }]);
  });
});
