import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  ConflictStrategy,
  HealthSpec,
  Priority,
  ReadySpec,
  Requirement,
  ResolvedConfig,
  RestartPolicy,
  StopSignal,
} from '../core/types.js';
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

const defs = CONFIG_JSON_SCHEMA.$defs!;

describe('config schema', () => {
  it('berth.schema.json is the generated schema (run `npm run gen:schema` after editing schema.ts)', () => {
    const committed = readFileSync(new URL('../../berth.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(`${JSON.stringify(CONFIG_JSON_SCHEMA, null, 2)}\n`);
  });

  it('user-config.generated.ts is the types generated from the schema (run `npm run gen:schema` after editing schema.ts)', async () => {
    const generator = new URL('../../scripts/config-types.mjs', import.meta.url).href;
    const { configTypes } = (await import(generator)) as { configTypes: (schema: JsonSchema) => string };
    const committed = readFileSync(new URL('./user-config.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(configTypes(CONFIG_JSON_SCHEMA));
  });

  // Checked by `npm run typecheck` (part of `npm test`): the generated types spell out the schema's
  // enums, and these must stay the very unions the core plans with.
  it('generates the same unions as the core types', () => {
    expectTypeOf<NonNullable<UserServiceConfig['priority']>>().toEqualTypeOf<Priority>();
    expectTypeOf<NonNullable<UserServiceConfig['requires']>>().toEqualTypeOf<Requirement[]>();
    expectTypeOf<NonNullable<UserServiceConfig['restart']>>().toEqualTypeOf<RestartPolicy>();
    expectTypeOf<NonNullable<UserServiceConfig['stopSignal']>>().toEqualTypeOf<StopSignal>();
    expectTypeOf<NonNullable<UserConfig['strategy']>>().toEqualTypeOf<ConflictStrategy>();
    expectTypeOf<NonNullable<UserEnvironmentConfig['strategy']>>().toEqualTypeOf<ConflictStrategy>();
    expectTypeOf<NonNullable<UserHealthConfig['type']>>().toEqualTypeOf<HealthSpec['type']>();
    expectTypeOf<NonNullable<UserReadyConfig['type']>>().toEqualTypeOf<ReadySpec['type']>();
    expectTypeOf<UserConfig['urls']>().toEqualTypeOf<ResolvedConfig['urls']>();
    expectTypeOf<UserPortRange>().toEqualTypeOf<{ min: number; max: number }>();
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
