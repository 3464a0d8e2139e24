/**
 * Durations on the command line: `500ms`, `30s`, `30m`, `2h`, `1d`; a bare number means seconds.
 */
import { BerthError } from '../errors.js';

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds in a duration string.
 *
 * @example
 * parseDuration('30m', '--ttl') // 1_800_000
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) {
    throw new BerthError(
      'E_USAGE',
      `${flag} "${text}" is not a duration. Write it like 500ms, 30s, 30m or 2h.`,
    );
  }
  const ms = Math.round(Number(match[1]) * UNITS_MS[match[2] ?? 's']!);
  if (ms <= 0) throw new BerthError('E_USAGE', `${flag} must be longer than zero. Write it like 30s or 30m.`);
  return ms;
}
