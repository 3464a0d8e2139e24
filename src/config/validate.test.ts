import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POOL } from '../core/policy.js';
import { leaseOnly } from '../core/stack.js';
import type { ServiceSpec } from '../core/types.js';
import { type ConfigProblem, formatProblems, validateConfig } from './validate.js';

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

/** A broken config and every error it must produce: exact paths and wording, all at once. */
type Case = [name: string, config: unknown, errors: readonly ConfigProblem[]];

const cases: Case[] = [
  [
    'port 0',
    broken((c) => (c.services.server.preferred = [0])),
    [{ path: 'services.server.preferred[0]', message: '0 is out of range; use a value from 1 to 65535' }],
  ],
  [
    'port 65536',
    broken((c) => (c.services.server.preferred = [65536])),
    [{ path: 'services.server.preferred[0]', message: '65536 is out of range; use a value from 1 to 65535' }],
  ],
  [
    'port -1',
    broken((c) => (c.services.client.preferred = [-1])),
    [{ path: 'services.client.preferred[0]', message: '-1 is out of range; use a value from 1 to 65535' }],
  ],
  [
    'port 3000.5',
    broken((c) => (c.services.server.preferred = [3000.5])),
    [{ path: 'services.server.preferred[0]', message: '3000.5 is not a whole number; use an integer' }],
  ],
  [
    'port as a string',
    broken((c) => (c.services.server.preferred = ['3000'])),
    [
      {
        path: 'services.server.preferred[0]',
        message: 'must be a whole number, not "3000"; write 3000 without quotes',
      },
    ],
  ],
  [
    'range max as a string',
    broken((c) => (c.services.server.range = { min: 3000, max: '3999' })),
    [
      {
        path: 'services.server.range.max',
        message: 'must be a whole number, not "3999"; write 3999 without quotes',
      },
    ],
  ],
  [
    'min above max',
    broken((c) => (c.services.server.range = { min: 4000, max: 3000 })),
    [{ path: 'services.server.range', message: 'min 4000 is above max 3000; swap them' }],
  ],
  [
    'range as a list',
    broken((c) => (c.services.server.range = [3000, 3999])),
    [
      {
        path: 'services.server.range',
        message: 'must be an object, not an array; write { "min": 3000, "max": 3999 }',
      },
    ],
  ],
  [
    'range without max',
    broken((c) => (c.services.server.range = { min: 3000 })),
    [{ path: 'services.server.range.max', message: 'is missing; add it' }],
  ],
  [
    'misspelt service key',
    broken((c) => (c.services.client = { prefered: [3001] })),
    [{ path: 'services.client.prefered', message: 'unknown key "prefered". Did you mean "preferred"?' }],
  ],
  [
    'seed key at the top level',
    broken((c) => (c.conflictResolutionStrategy = 'minimal')),
    [
      {
        path: 'conflictResolutionStrategy',
        message: 'unknown key "conflictResolutionStrategy". Did you mean "strategy"?',
      },
    ],
  ],
  [
    'misspelt range key',
    broken((c) => (c.services.server.range.mx = 4000)),
    [{ path: 'services.server.range.mx', message: 'unknown key "mx". Did you mean "max"?' }],
  ],
  [
    'inheritFrom a missing service',
    broken((c) => (c.services.websocket.inheritFrom = 'sever')),
    [{ path: 'services.websocket.inheritFrom', message: '"sever" is not a service. Did you mean "server"?' }],
  ],
  [
    'inheritFrom itself',
    broken((c) => (c.services.server.inheritFrom = 'server')),
    [
      {
        path: 'services.server.inheritFrom',
        message: 'server cannot inherit from itself; remove inheritFrom or name another service',
      },
      {
        path: 'services.server.preferred',
        message:
          'server inherits the port of server and cannot declare preferred; remove preferred or inheritFrom',
      },
      {
        path: 'services.server.range',
        message: 'server inherits the port of server and cannot declare range; remove range or inheritFrom',
      },
    ],
  ],
  [
    'inheritance cycle',
    { services: { a: { inheritFrom: 'b' }, b: { inheritFrom: 'a' }, c: {} } },
    [
      {
        path: 'services.a.inheritFrom',
        message: 'inheritance cycle a -> b -> a; remove inheritFrom from one of them',
      },
    ],
  ],
  [
    'inheriting service with preferred',
    broken((c) => (c.services.websocket.preferred = [3005])),
    [
      {
        path: 'services.websocket.preferred',
        message:
          'websocket inherits the port of server and cannot declare preferred; remove preferred or inheritFrom',
      },
    ],
  ],
  [
    'inheriting service with range',
    broken((c) => (c.services.websocket.range = { min: 3000, max: 3100 })),
    [
      {
        path: 'services.websocket.range',
        message:
          'websocket inherits the port of server and cannot declare range; remove range or inheritFrom',
      },
    ],
  ],
  [
    'conflict with a missing service',
    broken((c) => (c.services.server.conflicts = ['clinet'])),
    [{ path: 'services.server.conflicts[0]', message: '"clinet" is not a service. Did you mean "client"?' }],
  ],
  [
    'conflict with a missing service when it is the only service',
    { services: { api: { conflicts: ['xx'] } } },
    [
      {
        path: 'services.api.conflicts[0]',
        message:
          '"xx" is not a service, and api is the only service: remove the entry, or declare xx under services.',
      },
    ],
  ],
  [
    'inheritFrom a missing service when it is the only service',
    { services: { api: { inheritFrom: 'xx' } } },
    [
      {
        path: 'services.api.inheritFrom',
        message:
          '"xx" is not a service, and api is the only service: remove inheritFrom, or declare xx under services.',
      },
    ],
  ],
  [
    'inheritFrom itself when it is the only service',
    { services: { api: { inheritFrom: 'api' } } },
    [
      {
        path: 'services.api.inheritFrom',
        message: 'api cannot inherit from itself, and it is the only service: remove inheritFrom',
      },
    ],
  ],
  [
    'override of a missing service when services declares none',
    { services: {}, environments: { test: { services: { api: { preferred: [3000] } } } } },
    [
      { path: 'services', message: 'is empty; declare at least 1 entry' },
      {
        path: 'environments.test.services.api',
        message:
          'overrides "api", which is not a service, and services declares none. Declare it under services first',
      },
    ],
  ],
  [
    'conflict with itself',
    broken((c) => (c.services.server.conflicts = ['server'])),
    [
      {
        path: 'services.server.conflicts[0]',
        message: 'server cannot conflict with itself; remove it from conflicts',
      },
    ],
  ],
  [
    'conflict with the inherited service',
    broken((c) => (c.services.websocket.conflicts = ['server'])),
    [
      {
        path: 'services.websocket.conflicts[0]',
        message:
          'websocket and server share the port of server through inheritFrom, so they cannot conflict; remove the conflict or the inheritance',
      },
    ],
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
    [
      {
        path: 'services.a.conflicts[0]',
        message:
          'a and b share the port of c through inheritFrom, so they cannot conflict; remove the conflict or the inheritance',
      },
    ],
  ],
  [
    'unknown priority',
    broken((c) => (c.services.server.priority = 'urgent')),
    [{ path: 'services.server.priority', message: '"urgent" is not one of high, medium, low.' }],
  ],
  [
    'unknown requires',
    broken((c) => (c.services.server.requires = ['ws'])),
    [
      {
        path: 'services.server.requires[0]',
        message: '"ws" is not one of http, https, websocket, wss, tcp. Did you mean "wss"?',
      },
    ],
  ],
  [
    'empty requires',
    broken((c) => (c.services.server.requires = [])),
    [{ path: 'services.server.requires', message: 'must list at least 1 entry' }],
  ],
  [
    'unknown strategy',
    broken((c) => (c.strategy = 'fast')),
    [{ path: 'strategy', message: '"fast" is not one of minimal, aggressive, conservative, strict.' }],
  ],
  [
    'override of a missing service',
    broken((c) => (c.environments = { test: { services: { sever: { preferred: [] } } } })),
    [
      {
        path: 'environments.test.services.sever',
        message:
          'overrides "sever", which is not a service. Did you mean "server"? Declare it under services first',
      },
    ],
  ],
  [
    'misspelt override key',
    broken((c) => (c.environments = { test: { stratgy: 'strict' } })),
    [{ path: 'environments.test.stratgy', message: 'unknown key "stratgy". Did you mean "strategy"?' }],
  ],
  [
    'privileged port in an override',
    broken((c) => (c.environments = { prod: { services: { server: { preferred: [80] } } } })),
    [
      {
        path: 'environments.prod.services.server.preferred[0]',
        message:
          '80 is a privileged port (below 1024); set allowPrivileged: true (on the service or at the top level) or use a port from 1024 up',
      },
    ],
  ],
  [
    'reserved name environment',
    broken((c) => (c.services.environment = {})),
    [
      {
        path: 'services.environment',
        message: '"environment" is reserved (ports() uses it for its own key); rename the service',
      },
    ],
  ],
  [
    'reserved name urls',
    broken((c) => (c.services.urls = {})),
    [
      {
        path: 'services.urls',
        message: '"urls" is reserved (ports() uses it for its own key); rename the service',
      },
    ],
  ],
  [
    'reserved name names',
    broken((c) => (c.services.names = {})),
    [
      {
        path: 'services.names',
        message: '"names" is reserved (GET /api/ports uses it for its own key); rename the service',
      },
    ],
  ],
  [
    'service name with a space',
    broken((c) => (c.services['my api'] = {})),
    [
      {
        path: 'services["my api"]',
        message: '"my api" must start with a letter and use only letters, digits, _ and -',
      },
    ],
  ],
  [
    'service name with a digit first',
    broken((c) => (c.services['1st'] = {})),
    [
      {
        path: 'services["1st"]',
        message: '"1st" must start with a letter and use only letters, digits, _ and -',
      },
    ],
  ],
  [
    'duplicate preferred port',
    broken((c) => (c.services.server.preferred = [3000, 3001, 3000])),
    [{ path: 'services.server.preferred[2]', message: '3000 is listed twice (also at [0]); remove one' }],
  ],
  [
    'privileged preferred port',
    broken((c) => (c.services.server.preferred = [80])),
    [
      {
        path: 'services.server.preferred[0]',
        message:
          '80 is a privileged port (below 1024); set allowPrivileged: true (on the service or at the top level) or use a port from 1024 up',
      },
    ],
  ],
  [
    'privileged range',
    broken((c) => (c.services.server.range = { min: 80, max: 3999 })),
    [
      {
        path: 'services.server.range.min',
        message:
          '80 is a privileged port (below 1024); set allowPrivileged: true (on the service or at the top level) or use a port from 1024 up',
      },
    ],
  ],
  [
    'duplicate portEnv',
    broken((c) => (c.services.client.portEnv = 'SERVER_PORT')),
    [
      {
        path: 'services.client.portEnv',
        message:
          'SERVER_PORT is also the variable of services.server; set portEnv to a different name on one of them',
      },
    ],
  ],
  [
    'default env vars colliding',
    { services: { 'my-api': {}, my_api: {} } },
    [
      {
        path: 'services.my_api.portEnv',
        message:
          'MY_API_PORT is also the variable of services.my-api; set portEnv to a different name on one of them',
      },
    ],
  ],
  [
    'URL variables colliding',
    { services: { 'web-socket': {}, webSocket: { portEnv: 'WS_PORT' } } },
    [
      {
        path: 'services.webSocket',
        message: 'webSocket and services.web-socket would both publish WEB_SOCKET_URL; rename one of them',
      },
    ],
  ],
  [
    'portEnv taking the URL variable of another service',
    broken((c) => (c.services.server.portEnv = 'CLIENT_URL')),
    [
      {
        path: 'services.client',
        message: 'client and services.server would both publish CLIENT_URL; rename one of them',
      },
    ],
  ],
  [
    "portEnv equal to the service's own URL variable",
    broken((c) => (c.services.server.portEnv = 'SERVER_URL')),
    [
      {
        path: 'services.server.portEnv',
        message:
          'SERVER_URL is also the URL variable of services.server; set portEnv to a different name on one of them',
      },
    ],
  ],
  [
    'invalid portEnv name',
    broken((c) => (c.services.server.portEnv = '1PORT')),
    [
      {
        path: 'services.server.portEnv',
        message: '"1PORT" must be a shell variable name: letters, digits and _, not starting with a digit',
      },
    ],
  ],
  ['services missing', { strategy: 'minimal' }, [{ path: 'services', message: 'is missing; add it' }]],
  ['services empty', { services: {} }, [{ path: 'services', message: 'is empty; declare at least 1 entry' }]],
  [
    'services as an array',
    { services: [{ name: 'server' }] },
    [
      {
        path: 'services',
        message: 'must be an object, not an array; write { "name": value } pairs instead of a list',
      },
    ],
  ],
  [
    'preferred as a number',
    broken((c) => (c.services.server.preferred = 3000)),
    [{ path: 'services.server.preferred', message: 'must be a list, not 3000; write [3000]' }],
  ],
  [
    'config as an array',
    [],
    [
      {
        path: '',
        message: 'must be an object, not an array; write { "name": value } pairs instead of a list',
      },
    ],
  ],
  [
    'exclude range too wide',
    broken((c) => (c.exclude = [{ min: 20000, max: 40000 }])),
    [
      {
        path: 'exclude[0]',
        message:
          "20000-40000 covers 20001 ports; a range may exclude at most 10000. Narrow it, or narrow the services' ranges instead",
      },
    ],
  ],
  [
    'exclude range reversed',
    broken((c) => (c.exclude = [8080, { min: 9010, max: 9000 }])),
    [{ path: 'exclude[1]', message: 'min 9010 is above max 9000; swap them' }],
  ],
  [
    'exclude entry of the wrong type',
    broken((c) => (c.exclude = ['8080'])),
    [
      {
        path: 'exclude[0]',
        message: 'must be a whole number or an object, not "8080"; write 8080 without quotes',
      },
    ],
  ],
  [
    'tcp health check with a path',
    broken((c) => (c.services.server.health = { type: 'tcp', path: '/health' })),
    [
      {
        path: 'services.server.health.path',
        message: 'path applies to http checks only; remove it or set type: "http"',
      },
    ],
  ],
  [
    'health path without a slash',
    broken((c) => (c.services.server.health = { path: 'health' })),
    [{ path: 'services.server.health.path', message: '"health" must start with /' }],
  ],
  [
    'healthCheckTimeout 0',
    broken((c) => (c.healthCheckTimeout = 0)),
    [{ path: 'healthCheckTimeout', message: '0 is out of range; use a value from 1 to 600000' }],
  ],
  [
    'healthCheckTimeout as a duration in seconds',
    broken((c) => (c.healthCheckTimeout = '5s')),
    [{ path: 'healthCheckTimeout', message: 'must be a whole number, not "5s"; write 5000 (milliseconds)' }],
  ],
  [
    'healthCheckTimeout as a quoted number of milliseconds',
    broken((c) => (c.healthCheckTimeout = '5000')),
    [
      {
        path: 'healthCheckTimeout',
        message: 'must be a whole number, not "5000"; write 5000 without quotes',
      },
    ],
  ],
  [
    'healthCheckTimeout as a word',
    broken((c) => (c.healthCheckTimeout = 'fast')),
    [
      {
        path: 'healthCheckTimeout',
        message: 'must be a whole number, not "fast"; write a duration in milliseconds, e.g. 5000',
      },
    ],
  ],
  [
    'healthCheckTimeout as a boolean',
    broken((c) => (c.healthCheckTimeout = true)),
    [
      {
        path: 'healthCheckTimeout',
        message: 'must be a whole number, not true; write a duration in milliseconds, e.g. 5000',
      },
    ],
  ],
  [
    'healthCheckTimeout as a duration in an environment override',
    broken((c) => (c.environments = { ci: { healthCheckTimeout: '1.5 s' } })),
    [
      {
        path: 'environments.ci.healthCheckTimeout',
        message: 'must be a whole number, not "1.5 s"; write 1500 (milliseconds)',
      },
    ],
  ],
  [
    'stopTimeout as a duration in minutes',
    broken((c) => Object.assign(c.services.server, { command: 'node server.js', stopTimeout: '2m' })),
    [
      {
        path: 'services.server.stopTimeout',
        message: 'must be a whole number, not "2m"; write 120000 (milliseconds)',
      },
    ],
  ],
  [
    'stopTimeout as a duration above its maximum',
    broken((c) => Object.assign(c.services.server, { command: 'node server.js', stopTimeout: '20m' })),
    [
      {
        path: 'services.server.stopTimeout',
        message:
          'must be a whole number, not "20m", which is 1200000 milliseconds, above the maximum of 600000; write at most 600000',
      },
    ],
  ],
  [
    'health intervalMs with a unit',
    broken((c) => (c.services.server.health = { intervalMs: '500ms' })),
    [
      {
        path: 'services.server.health.intervalMs',
        message: 'must be a whole number, not "500ms"; write 500 (milliseconds)',
      },
    ],
  ],
  [
    'ready timeoutMs as a duration in seconds',
    broken((c) =>
      Object.assign(c.services.server, { command: 'node server.js', ready: { timeoutMs: '30s' } }),
    ),
    [
      {
        path: 'services.server.ready.timeoutMs',
        message: 'must be a whole number, not "30s"; write 30000 (milliseconds)',
      },
    ],
  ],
  [
    'range as a YAML-style string A-B',
    broken((c) => (c.services.server.range = '14000-14100')),
    [
      {
        path: 'services.server.range',
        message: 'must be an object, not "14000-14100"; write { "min": 14000, "max": 14100 }',
      },
    ],
  ],
  [
    'range as a string A..B',
    broken((c) => (c.services.server.range = '14000..14100')),
    [
      {
        path: 'services.server.range',
        message: 'must be an object, not "14000..14100"; write { "min": 14000, "max": 14100 }',
      },
    ],
  ],
  [
    'exclude range as a string',
    broken((c) => (c.exclude = [8080, '9000 - 9010'])),
    [
      {
        path: 'exclude[1]',
        message: 'must be a whole number or an object, not "9000 - 9010"; write { "min": 9000, "max": 9010 }',
      },
    ],
  ],
  [
    'durations and a range string, all reported at once',
    broken((c) => {
      c.healthCheckTimeout = '5s';
      c.services.client.range = '4000-4100';
      c.services.client.health = { intervalMs: '2s', timeoutMs: 'soon' };
    }),
    [
      {
        path: 'services.client.range',
        message: 'must be an object, not "4000-4100"; write { "min": 4000, "max": 4100 }',
      },
      {
        path: 'services.client.health.intervalMs',
        message: 'must be a whole number, not "2s"; write 2000 (milliseconds)',
      },
      {
        path: 'services.client.health.timeoutMs',
        message: 'must be a whole number, not "soon"; write a duration in milliseconds, e.g. 5000',
      },
      { path: 'healthCheckTimeout', message: 'must be a whole number, not "5s"; write 5000 (milliseconds)' },
    ],
  ],
  [
    'maxRetries above 100',
    broken((c) => (c.maxRetries = 101)),
    [{ path: 'maxRetries', message: '101 is out of range; use a value from 0 to 100' }],
  ],
  [
    'boolean as a string',
    broken((c) => (c.enableHealthChecks = 'false')),
    [
      {
        path: 'enableHealthChecks',
        message: 'must be true or false, not "false"; write false without quotes',
      },
    ],
  ],
  [
    'empty project name',
    broken((c) => (c.project = '')),
    [{ path: 'project', message: 'must not be empty' }],
  ],
  [
    'env as a string (the old name of portEnv)',
    broken((c) => (c.services.server.env = 'PGPORT')),
    [
      {
        path: 'services.server.env',
        message:
          'must be an object of extra variables for the command, e.g. { "NODE_ENV": "development" }. The variable that carries the port is now `portEnv`: rename `env` to `portEnv`',
      },
    ],
  ],
  [
    'env variable with a bad name',
    broken((c) => (c.services.server.env = { '1X': 'a' })),
    [
      {
        path: 'services.server.env["1X"]',
        message: '"1X" must be a shell variable name: letters, digits and _, not starting with a digit',
      },
    ],
  ],
  [
    'env value that is not a string',
    broken((c) => (c.services.server.env = { DEBUG: 1 })),
    [{ path: 'services.server.env.DEBUG', message: 'must be a string, not 1' }],
  ],
  [
    'env setting PORT',
    broken((c) => (c.services.server.env = { PORT: '1' })),
    [
      {
        path: 'services.server.env.PORT',
        message: "berth sets PORT to server's port itself; remove it from env",
      },
    ],
  ],
  [
    "env setting another service's URL variable",
    broken((c) => (c.services.server.env = { CLIENT_URL: 'x' })),
    [
      {
        path: 'services.server.env.CLIENT_URL',
        message: 'berth sets CLIENT_URL itself (a variable of services.client); remove it from env',
      },
    ],
  ],
  [
    'dependsOn a missing service',
    broken((c) => (c.services.client.dependsOn = ['sever'])),
    [{ path: 'services.client.dependsOn[0]', message: '"sever" is not a service. Did you mean "server"?' }],
  ],
  [
    'dependsOn a missing service when it is the only service',
    { services: { api: { command: 'node api.js', dependsOn: ['xx'] } } },
    [
      {
        path: 'services.api.dependsOn[0]',
        message:
          '"xx" is not a service, and api is the only service: remove the entry, or declare xx under services.',
      },
    ],
  ],
  [
    'dependsOn itself',
    broken((c) => (c.services.client.dependsOn = ['client'])),
    [
      {
        path: 'services.client.dependsOn[0]',
        message: 'client cannot depend on itself; remove it from dependsOn',
      },
    ],
  ],
  [
    'dependency cycle',
    broken((c) => {
      c.services.client.dependsOn = ['server'];
      c.services.server.dependsOn = ['client'];
    }),
    [
      {
        path: 'services.server.dependsOn[0]',
        message:
          'dependency cycle server -> client -> server; remove one of these dependsOn entries (inheritFrom counts: a service waits for the one whose port it shares)',
      },
    ],
  ],
  [
    'dependency cycle through inheritFrom',
    broken((c) => (c.services.server.dependsOn = ['websocket'])),
    [
      {
        path: 'services.server.dependsOn[0]',
        message:
          'dependency cycle server -> websocket -> server; remove one of these dependsOn entries (inheritFrom counts: a service waits for the one whose port it shares)',
      },
    ],
  ],
  [
    'dependsOn listing a service twice',
    broken((c) => (c.services.client.dependsOn = ['server', 'server'])),
    [{ path: 'services.client.dependsOn[1]', message: '"server" is listed twice (also at [0]); remove one' }],
  ],
  [
    'unknown dependency in an environment override',
    broken((c) => (c.environments = { test: { services: { client: { dependsOn: ['nope'] } } } })),
    [
      {
        path: 'environments.test.services.client.dependsOn[0]',
        message: '"nope" is not a service. Services: server, websocket.',
      },
    ],
  ],
  [
    'command as a number',
    broken((c) => (c.services.server.command = 42)),
    [{ path: 'services.server.command', message: 'must be a string or a list, not 42' }],
  ],
  [
    'empty command',
    broken((c) => (c.services.server.command = '')),
    [{ path: 'services.server.command', message: 'must not be empty' }],
  ],
  [
    'empty command list',
    broken((c) => (c.services.server.command = [])),
    [{ path: 'services.server.command', message: 'must list at least 1 entry' }],
  ],
  [
    'command list with a number',
    broken((c) => (c.services.server.command = ['node', 1])),
    [{ path: 'services.server.command[1]', message: 'must be a string, not 1' }],
  ],
  [
    'cwd empty',
    broken((c) => (c.services.server.cwd = '')),
    [{ path: 'services.server.cwd', message: 'must not be empty' }],
  ],
  [
    'unknown restart policy',
    broken((c) => (c.services.server.restart = 'on-failur')),
    [
      {
        path: 'services.server.restart',
        message: '"on-failur" is not one of no, on-failure, always. Did you mean "on-failure"?',
      },
    ],
  ],
  [
    'restart as a boolean',
    broken((c) => (c.services.server.restart = true)),
    [{ path: 'services.server.restart', message: 'must be a string, not true' }],
  ],
  [
    'negative maxRestarts',
    broken((c) => (c.services.server.maxRestarts = -1)),
    [{ path: 'services.server.maxRestarts', message: '-1 is out of range; use a value from 0 to 1000000' }],
  ],
  [
    'unknown stopSignal',
    broken((c) => (c.services.server.stopSignal = 'SIGSTOP')),
    [
      {
        path: 'services.server.stopSignal',
        message: '"SIGSTOP" is not one of SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGKILL.',
      },
    ],
  ],
  [
    'stopTimeout as seconds text',
    broken((c) => (c.services.server.stopTimeout = '10s')),
    [
      {
        path: 'services.server.stopTimeout',
        message: 'must be a whole number, not "10s"; write 10000 (milliseconds)',
      },
    ],
  ],
  [
    'stopTimeout too long',
    broken((c) => (c.services.server.stopTimeout = 600_001)),
    [
      {
        path: 'services.server.stopTimeout',
        message: '600001 is out of range; use a value from 0 to 600000',
      },
    ],
  ],
  [
    'tcp ready check with a path',
    broken((c) => (c.services.server.ready = { type: 'tcp', path: '/ready' })),
    [
      {
        path: 'services.server.ready.path',
        message: 'path applies to http checks only; remove it or set type: "http"',
      },
    ],
  ],
  [
    'ready as a boolean',
    broken((c) => (c.services.server.ready = true)),
    [{ path: 'services.server.ready', message: 'must be an object, not true' }],
  ],
  [
    'environment name with a space',
    broken((c) => (c.environments = { 'my env': {} })),
    [
      {
        path: 'environments["my env"]',
        message: '"my env" must start with a letter or digit and use only letters, digits, _, . and -',
      },
    ],
  ],
];

describe('validateConfig: bad configs', () => {
  it.each(cases)('%s', (_name, config, expected) => {
    const { config: resolved, errors } = validateConfig(config, ctx);
    expect(resolved).toBeNull();
    expect(errors).toEqual(expected);
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
      portArgs: true,
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
    // Schema problems in document order, then the rules' problems.
    expect(errors).toEqual([
      { path: 'strategy', message: '"fast" is not one of minimal, aggressive, conservative, strict.' },
      { path: 'services.server.preferred[0]', message: '0 is out of range; use a value from 1 to 65535' },
      {
        path: 'services.server.preferred[1]',
        message: 'must be a whole number, not "3001"; write 3001 without quotes',
      },
      { path: 'services.server.priority', message: '"urgent" is not one of high, medium, low.' },
      { path: 'services.client.prefered', message: 'unknown key "prefered". Did you mean "preferred"?' },
      { path: 'services.websocket.inheritFrom', message: '"sever" is not a service. Did you mean "server"?' },
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
