/**
 * Terminal output: colours only on a TTY and never with NO_COLOR
 * (https://no-color.org), and aligned tables whose `--json` twins the
 * commands print instead.
 */

/** Whether to colour output written to `stream`. */
export function useColor(stream: { isTTY?: boolean } = process.stdout, env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

const CODES = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1, cyan: 36, magenta: 35, blue: 34 } as const;

/** A painter for one stream: `paint.green('ok')`, plain strings when colour is off. */
export type Paint = Record<keyof typeof CODES, (text: string) => string>;

/** Builds a painter; `enabled` false gives identity functions. A function is asked once, at the first paint. */
export function painter(enabled: boolean | (() => boolean)): Paint {
  let on: boolean | undefined = typeof enabled === 'boolean' ? enabled : undefined;
  const isOn = () => {
    on ??= (enabled as () => boolean)();
    return on;
  };
  const out = {} as Paint;
  for (const [name, code] of Object.entries(CODES) as [keyof typeof CODES, number][]) {
    out[name] = (text) => (isOn() ? `\u001b[${code}m${text}\u001b[0m` : text);
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI colour codes is the point.
const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string) => text.replace(ANSI, '').length;

/**
 * Formats rows as an aligned table with a header row. Columns listed in
 * `right` are right-aligned (numbers).
 *
 * @example
 * table(['SERVICE', 'PORT'], [['server', '3000']], { right: [1] })
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  opts: { right?: number[] } = {},
): string {
  const widths = header.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - visibleLength(cell));
        return opts.right?.includes(i) ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `42s`, `5m`, `3h`, `2d`: a compact age. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
