/**
 * A config problem and the path notation every problem uses:
 * `services.websocket.inheritFrom`, `services.server.preferred[1]`,
 * `services["my api"]` for keys that are not plain names.
 */

/** One thing wrong (or suspicious) in a config, with the path of the offending value. */
export interface ConfigProblem {
  /** Where: `services.websocket.inheritFrom`; empty for the config as a whole. */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** The path of `key` inside the value at `parent`. */
export function keyPath(parent: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** The path of item `index` of the array at `parent`. */
export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** A short rendering of a value for messages: `3000`, `"3000"`, `an array`. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 42 ? `${text.slice(0, 40)}..."` : text;
  }
  return String(value);
}

/** Plain objects only: not arrays, not null. */
export function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
