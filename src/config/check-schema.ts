/**
 * Checks a raw value against the JSON Schema literal of schema.ts and reports
 * every mismatch with its path. Understands only the keywords that schema uses.
 */

import { didYouMean } from '../core/suggest.js';
import { asRecord, type ConfigProblem, describeValue, indexPath, keyPath } from './problems.js';
import type { JsonSchema } from './schema.js';

type JsonType = NonNullable<JsonSchema['type']>;

const TYPE_NAMES: Record<JsonType, string> = {
  object: 'an object',
  array: 'a list',
  integer: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
};

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'object':
      return asRecord(value) !== null;
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
  }
}

/** `5s`, `500ms`, `2 m`, `1.5 seconds`: a number and a unit of time. */
const DURATION =
  /^\s*(\d+(?:\.\d+)?)\s*(ms|millis|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\s*$/i;

/** The milliseconds a duration like `5s` stands for, or `null` when it is none (or not a whole number of them). */
function durationMs(text: string): number | null {
  const match = DURATION.exec(text);
  if (match === null) return null;
  const unit = match[2]!.toLowerCase();
  const factor =
    unit === 'ms' || unit.startsWith('milli')
      ? 1
      : unit.startsWith('s')
        ? 1000
        : unit.startsWith('m')
          ? 60_000
          : 3_600_000;
  const ms = Number(match[1]) * factor;
  // 1.1 * 1000 is 1100.0000000000002: round what is a whole number but for the float.
  return Math.abs(ms - Math.round(ms)) < 1e-6 ? Math.round(ms) : null;
}

/** For a milliseconds field: the value converted when it is a duration with a unit, else what to write. */
function millisecondsHint(value: unknown, schema: JsonSchema): string {
  const ms = typeof value === 'string' ? durationMs(value) : null;
  const { minimum, maximum } = schema;
  if (ms !== null && maximum !== undefined && ms > maximum) {
    return `, which is ${ms} milliseconds, above the maximum of ${maximum}; write at most ${maximum}`;
  }
  if (ms !== null && minimum !== undefined && ms < minimum) {
    return `, which is ${ms} milliseconds, below the minimum of ${minimum}; write at least ${minimum}`;
  }
  if (ms !== null) return `; write ${ms} (milliseconds)`;
  const example = typeof schema.default === 'number' ? schema.default : 5000;
  return `; write a duration in milliseconds, e.g. ${example}`;
}

/** `14000-14100`, `14000..14100`: two ports as text, which is what YAML makes of `range: 14000-14100`. */
const RANGE_TEXT = /^\s*(\d+)\s*(?:-|\.\.)\s*(\d+)\s*$/;

/** `{ "min": 3000, "max": 3999 }`: the object of `keys` with `values`, as the hints write it. */
function objectOf(keys: readonly string[], values: readonly unknown[]): string {
  return `{ ${keys.map((k, i) => `"${k}": ${JSON.stringify(values[i])}`).join(', ')} }`;
}

/** For an object of two required keys (a range) given as `A-B` or `A..B`: the object it should have been. */
function rangeTextHint(value: unknown, schema?: JsonSchema): string {
  const keys = schema?.required ?? [];
  const match = typeof value === 'string' && keys.length === 2 ? RANGE_TEXT.exec(value) : null;
  return match === null ? '' : `; write ${objectOf(keys, [Number(match[1]), Number(match[2])])}`;
}

/** A hint for the usual ways a value ends up with the wrong type. */
function typeHint(value: unknown, type: JsonType, schema?: JsonSchema): string {
  if (type === 'integer' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) {
    return `; write ${value.trim()} without quotes`;
  }
  if (type === 'integer' && typeof value === 'number') return ''; // a fraction: the message says it all
  if (type === 'integer' && schema?.unit === 'milliseconds') return millisecondsHint(value, schema);
  if (type === 'array' && !Array.isArray(value) && (typeof value !== 'object' || value === null)) {
    return `; write [${JSON.stringify(value)}]`;
  }
  if (type === 'object' && Array.isArray(value)) {
    const keys = schema?.required ?? [];
    if (keys.length > 0 && keys.length === value.length) {
      // [3000, 3999] for a range: show the object it should have been.
      return `; write ${objectOf(keys, value)}`;
    }
    return '; write { "name": value } pairs instead of a list';
  }
  if (type === 'object') return rangeTextHint(value, schema);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return `; write ${value} without quotes`;
  return '';
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let node = schema;
  // $defs may refer to each other; a bounded loop keeps a bad schema from hanging.
  for (let i = 0; node.$ref !== undefined && i < 16; i++) {
    const name = node.$ref.replace(/^#\/\$defs\//, '');
    const target = root.$defs?.[name];
    if (target === undefined) throw new Error(`config schema: unresolved $ref ${node.$ref}`);
    node = target;
  }
  return node;
}

class Walker {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly root: JsonSchema) {}

  private report(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  walk(value: unknown, schemaIn: JsonSchema, path: string): void {
    const schema = resolve(schemaIn, this.root);
    if (schema.oneOf !== undefined) {
      this.walkOneOf(value, schema.oneOf, path);
      return;
    }
    if (schema.type !== undefined && !hasType(value, schema.type)) {
      const fraction = schema.type === 'integer' && typeof value === 'number';
      this.report(
        path,
        schema.errorMessage !== undefined
          ? schema.errorMessage
          : fraction
            ? `${describeValue(value)} is not a whole number; use an integer`
            : `must be ${TYPE_NAMES[schema.type]}, not ${describeValue(value)}${typeHint(value, schema.type, schema)}`,
      );
      return;
    }
    if (schema.enum !== undefined && !schema.enum.includes(value as string)) {
      const options = schema.enum.map(String);
      this.report(
        path,
        `${describeValue(value)} is not one of ${options.join(', ')}.${didYouMean(String(value), options)}`,
      );
      return;
    }
    if (typeof value === 'number') this.checkNumber(value, schema, path);
    else if (typeof value === 'string') this.checkString(value, schema, path);
    else if (Array.isArray(value)) this.checkArray(value, schema, path);
    else {
      const record = asRecord(value);
      if (record !== null) this.checkObject(record, schema, path);
    }
  }

  private walkOneOf(value: unknown, branches: readonly JsonSchema[], path: string): void {
    const resolved = branches.map((b) => resolve(b, this.root));
    const match = resolved.find((b) => b.type !== undefined && hasType(value, b.type));
    if (match !== undefined) {
      this.walk(value, match, path);
      return;
    }
    // A fraction is still meant as a number: say so rather than list every shape.
    const integer = resolved.find((b) => b.type === 'integer');
    if (integer !== undefined && typeof value === 'number') {
      this.walk(value, integer, path);
      return;
    }
    const names = resolved.map((b) => (b.type === undefined ? 'a value' : TYPE_NAMES[b.type]));
    const object = resolved.find((b) => b.type === 'object');
    const hint =
      (integer !== undefined ? typeHint(value, 'integer') : '') ||
      (object !== undefined ? rangeTextHint(value, object) : '');
    this.report(path, `must be ${names.join(' or ')}, not ${describeValue(value)}${hint}`);
  }

  private checkNumber(value: number, schema: JsonSchema, path: string): void {
    const { minimum, maximum } = schema;
    if ((minimum !== undefined && value < minimum) || (maximum !== undefined && value > maximum)) {
      const bounds =
        minimum !== undefined && maximum !== undefined
          ? `from ${minimum} to ${maximum}`
          : minimum !== undefined
            ? `of at least ${minimum}`
            : `of at most ${maximum}`;
      this.report(path, `${value} is out of range; use a value ${bounds}`);
    }
  }

  private checkString(value: string, schema: JsonSchema, path: string): void {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      this.report(path, 'must not be empty');
      return;
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      this.report(
        path,
        `${describeValue(value)} ${schema.patternErrorMessage ?? `does not match ${schema.pattern}`}`,
      );
    }
  }

  private checkArray(value: readonly unknown[], schema: JsonSchema, path: string): void {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      this.report(
        path,
        `must list at least ${schema.minItems} ${schema.minItems === 1 ? 'entry' : 'entries'}`,
      );
    }
    const seen = new Map<string, number>();
    value.forEach((item, index) => {
      const itemPath = indexPath(path, index);
      if (schema.items !== undefined) this.walk(item, schema.items, itemPath);
      if (schema.uniqueItems !== true || (typeof item === 'object' && item !== null)) return;
      const key = JSON.stringify(item);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else this.report(itemPath, `${describeValue(item)} is listed twice (also at [${first}]); remove one`);
    });
  }

  private checkObject(value: Record<string, unknown>, schema: JsonSchema, path: string): void {
    const known = schema.properties ?? {};
    if (schema.minProperties !== undefined && Object.keys(value).length < schema.minProperties) {
      this.report(
        path,
        `is empty; declare at least ${schema.minProperties} ${schema.minProperties === 1 ? 'entry' : 'entries'}`,
      );
    }
    for (const key of schema.required ?? []) {
      if (!(key in value)) this.report(keyPath(path, key), 'is missing; add it');
    }
    for (const [key, item] of Object.entries(value)) {
      const itemPath = keyPath(path, key);
      const property = known[key];
      if (property !== undefined) {
        this.walk(item, property, itemPath);
        continue;
      }
      if (schema.propertyNames !== undefined) {
        const before = this.problems.length;
        this.walk(key, schema.propertyNames, itemPath);
        if (this.problems.length > before) continue;
      }
      if (schema.additionalProperties === false) {
        const names = Object.keys(known);
        const suggestion = didYouMean(key, names);
        this.report(
          itemPath,
          `unknown key ${JSON.stringify(key)}.${suggestion || ` Known keys: ${names.join(', ')}.`}`,
        );
      } else if (typeof schema.additionalProperties === 'object') {
        this.walk(item, schema.additionalProperties, itemPath);
      }
    }
  }
}

/**
 * Every way `value` departs from `schema`, each with its path. Pure.
 *
 * @example
 * checkSchema({ strategy: 'fast' }, CONFIG_JSON_SCHEMA)
 * // [{ path: 'strategy', message: '"fast" is not one of minimal, ...' }, { path: 'services', ... }]
 */
export function checkSchema(value: unknown, schema: JsonSchema): ConfigProblem[] {
  const walker = new Walker(schema);
  walker.walk(value, schema, '');
  return walker.problems;
}
