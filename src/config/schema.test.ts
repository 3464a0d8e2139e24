import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  defineConfig,
  type UserConfig,
  type UserEnvironmentConfig,
  type UserHealthConfig,
  type UserPortRange,
  type UserReadyConfig,
  type UserServiceConfig,
} from './define.js';
import { CONFIG_JSON_SCHEMA, type JsonSchema } from './schema.js';
import { validateConfig } from './validate.js';

const range: Required<UserPortRange> = { min: 4000, max: 4999 };
const health: Required<UserHealthConfig> = {
  type: 'http',
  path: '/health',
  expectStatus: 200,
  intervalMs: 500,
  timeoutMs: 1000,
};
/** Every key of `ready` (not one consistent check: the keys test reads it only). */
const ready: Required<UserReadyConfig> = { ...health, command: 'x', pattern: 'y' };
const service: Required<UserServiceConfig> = {
  preferred: [4000],
  range,
  priority: 'high',
  requires: ['http'],
  conflicts: [],
  inheritFrom: 'base',
  portEnv: 'API_PORT',
  env: { NODE_ENV: 'development' },
  command: ['node', 'api.js'],
  cwd: 'api',
  dependsOn: ['base'],
  ready: { type: 'command', command: ['pg_isready', '-p', '{port}'], intervalMs: 500, timeoutMs: 1000 },
  portArgs: ['--port', '{port}'],
  restart: 'on-failure',
  maxRestarts: 3,
  stopSignal: 'SIGINT',
  stopTimeout: 5000,
  allowPrivileged: false,
  health,
  description: 'every key',
};
const environment: Required<UserEnvironmentConfig> = {
  strategy: 'strict',
  healthCheckTimeout: 1000,
  maxRetries: 1,
  enableHealthChecks: true,
  autoReassign: false,
  allowPrivileged: false,
  exclude: [4500],
  services: { base: { preferred: [4100] } },
};
/** Every key the TypeScript types know, at every level. */
const full: Required<UserConfig> = {
  $schema: './berth.schema.json',
  project: 'full',
  registry: 'etcd://etcd-1:2379',
  urls: 'named',
  strategy: 'minimal',
  healthCheckTimeout: 5000,
  maxRetries: 5,
  enableHealthChecks: true,
  autoReassign: true,
  allowPrivileged: false,
  exclude: [4500, { min: 4600, max: 4610 }],
  services: { base: { preferred: [4001] }, api: service },
  environments: { ci: environment },
};

const keys = (schema: JsonSchema | undefined): string[] => Object.keys(schema?.properties ?? {}).sort();
const defs = CONFIG_JSON_SCHEMA.$defs!;
const environmentSchema = CONFIG_JSON_SCHEMA.properties!.environments!.additionalProperties as JsonSchema;

describe('config schema', () => {
  it('berth.schema.json is the generated schema (run `node scripts/gen-schema.mjs` after editing schema.ts)', () => {
    const committed = readFileSync(new URL('../../berth.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(`${JSON.stringify(CONFIG_JSON_SCHEMA, null, 2)}\n`);
  });

  it('describes every field, for editor hovers', () => {
    const missing: string[] = [];
    const visit = (schema: JsonSchema, path: string) => {
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        if (child.description === undefined) missing.push(`${path}.${key}`);
        visit(child, `${path}.${key}`);
      }
      if (typeof schema.additionalProperties === 'object') visit(schema.additionalProperties, `${path}.*`);
    };
    visit(CONFIG_JSON_SCHEMA, '');
    for (const [name, def] of Object.entries(defs)) visit(def, `$defs.${name}`);
    expect(missing).toEqual([]);
  });

  it('marks every milliseconds field, so a duration like "5s" gets converted in the message', () => {
    const unmarked: string[] = [];
    const visit = (schema: JsonSchema, path: string) => {
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        if (/^Milliseconds\b/.test(child.description ?? '') && child.unit !== 'milliseconds') {
          unmarked.push(`${path}.${key}`);
        }
        visit(child, `${path}.${key}`);
      }
    };
    visit(CONFIG_JSON_SCHEMA, '');
    for (const [name, def] of Object.entries(defs)) visit(def, `$defs.${name}`);
    expect(unmarked).toEqual([]);
  });

  it('has the same keys as the UserConfig types, at every level', () => {
    expect(Object.keys(full).sort()).toEqual(keys(CONFIG_JSON_SCHEMA));
    expect(Object.keys(service).sort()).toEqual(keys(defs.service));
    expect(Object.keys(health).sort()).toEqual(keys(defs.health));
    expect(Object.keys(ready).sort()).toEqual(keys(defs.ready));
    expect(Object.keys(range).sort()).toEqual(keys(defs.range));
    expect(Object.keys(environment).sort()).toEqual(keys(environmentSchema));
  });

  it('accepts a config that uses every key', () => {
    const { errors } = validateConfig(defineConfig(full), { dir: '/x/full', file: null, environment: 'ci' });
    expect(errors).toEqual([
      // The only complaint is the deliberate one: an inheriting service that declares ports.
      { path: 'services.api.preferred', message: expect.stringContaining('inherits') },
      { path: 'services.api.range', message: expect.stringContaining('inherits') },
    ]);
  });

  it('defineConfig returns its argument', () => {
    expect(defineConfig(full)).toBe(full);
  });
});
