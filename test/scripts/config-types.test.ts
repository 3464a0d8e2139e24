/**
 * scripts/config-types.mjs: the config's TypeScript types written from its JSON
 * Schema. src/config/schema.test.ts pins its output for the real schema; these
 * cases cover what the real schema does not use today, so a key added later
 * comes out right (or fails loudly) rather than as a wrong type.
 */
import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../../src/config/schema.js';

interface Entry {
  name: string;
  at?: string;
  sharedBy?: string[];
  extends?: string;
  description?: string;
}
const { configTypes } = (await import(new URL('../../scripts/config-types.mjs', import.meta.url).href)) as {
  configTypes: (schema: JsonSchema, interfaces: Entry[]) => string;
};

/** The generated text without its two header lines. */
const types = (schema: JsonSchema, interfaces: Entry[] = [{ name: 'Root', at: '' }]) =>
  configTypes(schema, interfaces).split('\n').slice(3).join('\n');

describe('config types from the schema', () => {
  it('writes required keys bare, others optional, and quotes keys that are not identifiers', () => {
    const schema: JsonSchema = {
      type: 'object',
      description: 'The root.',
      required: ['name'],
      properties: {
        name: { type: 'string', description: 'A name.' },
        'x-count': { type: 'integer', description: 'A count.' },
      },
    };
    expect(types(schema)).toBe(
      [
        '/** The root. */',
        'export interface Root {',
        '  /** A name. */',
        '  name: string;',
        '  /** A count. */',
        "  'x-count'?: number;",
        '}',
        '',
      ].join('\n'),
    );
  });

  it('writes enums as literal unions, oneOf as unions, arrays of unions in parentheses, maps as Record', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        mode: { enum: ['a', "it's", 2, true], description: 'm' },
        either: {
          oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string' } }],
          description: 'e',
        },
        list: {
          type: 'array',
          items: { oneOf: [{ type: 'integer' }, { $ref: '#/$defs/pair' }] },
          description: 'l',
        },
        map: { type: 'object', additionalProperties: { $ref: '#/$defs/word' }, description: 'w' },
        bag: { type: 'object', description: 'b' },
      },
      $defs: {
        word: { type: 'string', enum: ['x', 'y'] },
        pair: { type: 'object', properties: { a: { type: 'integer', description: 'a' } } },
      },
    };
    const text = types(schema, [
      { name: 'Pair', at: '/$defs/pair' },
      { name: 'Root', at: '' },
    ]);
    expect(text).toContain("  mode?: 'a' | 'it\\'s' | 2 | true;");
    expect(text).toContain('  either?: boolean | string[];');
    expect(text).toContain('  list?: (number | Pair)[];');
    expect(text).toContain("  map?: Record<string, 'x' | 'y'>;");
    expect(text).toContain('  bag?: Record<string, unknown>;');
  });

  it('documents each field with its description, bounds, default and examples, and never ends a comment early', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        waitMs: {
          type: 'integer',
          description: 'How long to wait, e.g. for */tmp.',
          minimum: 1,
          maximum: 10,
          default: 5,
          examples: [2],
        },
        port: { $ref: '#/$defs/port', description: 'The port.' },
      },
      $defs: { port: { type: 'integer', minimum: 1, maximum: 65535 } },
    };
    expect(types(schema)).toContain(
      [
        '  /**',
        '   * How long to wait, e.g. for *\\/tmp.',
        '   * Between 1 and 10.',
        '   * @default 5',
        '   * @example 2',
        '   */',
        '  waitMs?: number;',
        '  /**',
        '   * The port.',
        '   * Between 1 and 65535.',
        '   */',
        '  port?: number;',
      ].join('\n'),
    );
  });

  it('wraps long descriptions at 110 columns', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const schema: JsonSchema = { type: 'object', properties: { a: { type: 'string', description: words } } };
    const lines = types(schema).split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(110);
    expect(
      lines
        .filter((l) => l.startsWith('   * '))
        .map((l) => l.slice(5))
        .join(' '),
    ).toBe(words);
  });

  it('writes the properties two schemas share as a base both extend', () => {
    const shared = { type: 'integer', description: 'Shared.' } as const;
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        top: { type: 'string', description: 'Top only.' },
        retries: shared,
        envs: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: { retries: shared, extra: { type: 'boolean', description: 'Env only.' } },
          },
        },
      },
    };
    const text = types(schema, [
      { name: 'Base', sharedBy: ['', '/properties/envs/additionalProperties'], description: 'Both.' },
      { name: 'Env', at: '/properties/envs/additionalProperties', extends: 'Base' },
      { name: 'Root', at: '', extends: 'Base' },
    ]);
    expect(text).toContain('export interface Base {\n  /** Shared. */\n  retries?: number;\n}');
    expect(text).toContain('export interface Env extends Base {\n  /** Env only. */\n  extra?: boolean;\n}');
    expect(text).toContain('export interface Root extends Base {');
    expect(text).toContain('  envs?: Record<string, Env>;');
    expect(text).not.toMatch(/Root extends Base \{[^}]*retries/);
  });

  it('leaves out of the base a key the schemas differ in, and refuses a base its schema does not share', () => {
    const retries = { type: 'integer', description: 'Retries.' } as const;
    const mode = { type: 'string', description: 'Mode.' } as const;
    const schema: JsonSchema = {
      type: 'object',
      required: ['retries'],
      properties: {
        retries,
        mode,
        envs: { type: 'object', additionalProperties: { type: 'object', properties: { retries, mode } } },
        other: { type: 'object', additionalProperties: { $ref: '#/$defs/other' } },
      },
      $defs: { other: { type: 'object', properties: { x: { type: 'string', description: 'X.' } } } },
    };
    const base = { name: 'Base', sharedBy: ['', '/properties/envs/additionalProperties'] };
    const env = { name: 'Env', at: '/properties/envs/additionalProperties', extends: 'Base' };
    const other = { name: 'Other', at: '/$defs/other' };
    const text = types(schema, [base, env, other, { name: 'Root', at: '', extends: 'Base' }]);
    // `retries` is required at the top level only: each interface writes its own.
    expect(text).toContain('export interface Base {\n  /** Mode. */\n  mode?: string;\n}');
    expect(text).toContain('export interface Env extends Base {\n  /** Retries. */\n  retries?: number;\n}');
    expect(text).toContain('export interface Root extends Base {\n  /** Retries. */\n  retries: number;');
    expect(() => types(schema, [base, { ...other, extends: 'Base' }])).toThrow(
      'Other extends Base, which is not shared by its schema',
    );
    expect(() => types(schema, [{ name: 'None', sharedBy: ['', '/$defs/other'] }])).toThrow(
      'None: the schemas share no property',
    );
  });

  it('refuses an object with properties that has no name, naming where it is', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { inner: { type: 'object', properties: { a: { type: 'string' } } } },
    };
    expect(() => types(schema)).toThrow('#/properties/inner has properties: give it a name in INTERFACES');
  });

  it('refuses a schema it cannot write as a type', () => {
    expect(() => types({ type: 'object', properties: { a: { description: 'no type' } } })).toThrow(
      '#/properties/a: no type, enum, oneOf or $ref to write',
    );
  });
});
