/**
 * Windows' excluded port ranges: ports that Hyper-V, WSL, Docker or an
 * administrator reserved. Binding one fails with EACCES even though nothing
 * listens there, so berth never plans them.
 */
import { isPort } from '../../core/policy.js';
import type { PortRange } from '../../core/types.js';
import { BerthError } from '../../errors.js';

/** The command, as an argument list: it never goes through a shell. */
export const NETSH_EXCLUDED_RANGES_ARGS = [
  'int',
  'ipv4',
  'show',
  'excludedportrange',
  'protocol=tcp',
] as const;

/** netsh answers in well under a second; ten means it hangs. */
const NETSH_TIMEOUT_MS = 10_000;

/** A data row: two port numbers, then `*` for an administered exclusion. */
const ROW = /^(\d{1,5})\s+(\d{1,5})(?:\s+\*)?$/;

/**
 * Parses the output of `netsh int ipv4 show excludedportrange protocol=tcp`.
 * It relies on the numbers, never the words, so localised headers
 * ("Start Port", "Startport", ...) and the `*` that marks administered
 * exclusions do not matter. Rows that are not two ports in order are ignored.
 *
 * @example
 * parseNetshExcludedPortRanges('Start Port    End Port\r\n----------    --------\r\n     50000       50059     *\r\n');
 * // [{ min: 50000, max: 50059 }]
 */
export function parseNetshExcludedPortRanges(text: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = ROW.exec(line.trim());
    if (!match) continue;
    const min = Number(match[1]);
    const max = Number(match[2]);
    if (isPort(min) && isPort(max) && min <= max) ranges.push({ min, max });
  }
  return ranges;
}

/** Runs a program with arguments (no shell) and resolves its standard output. */
export type RunCommand = (file: string, args: readonly string[]) => Promise<string>;

/**
 * The excluded TCP port ranges on Windows (one `netsh` run, no shell); `[]`
 * on every other platform. Rejects with `E_PROBE` when netsh fails.
 *
 * @param platform for tests; defaults to `process.platform`.
 * @param run for tests; defaults to `execFile`.
 * @example
 * const excluded = await readExcludedRanges(); // [] on Linux
 */
export async function readExcludedRanges(
  platform: NodeJS.Platform = process.platform,
  run: RunCommand = runNetsh,
): Promise<PortRange[]> {
  if (platform !== 'win32') return [];
  try {
    return parseNetshExcludedPortRanges(await run('netsh', NETSH_EXCLUDED_RANGES_ARGS));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException | undefined)?.code ?? (error as Error | undefined)?.message;
    throw new BerthError(
      'E_PROBE',
      `could not list Windows' excluded port ranges: netsh ${NETSH_EXCLUDED_RANGES_ARGS.join(' ')} failed (${String(reason)}). Run that command in a terminal to see why, or list the reserved ranges in the config's exclude.`,
      { cause: error, data: { command: ['netsh', ...NETSH_EXCLUDED_RANGES_ARGS] } },
    );
  }
}

async function runNetsh(file: string, args: readonly string[]): Promise<string> {
  // Loaded on demand: node:child_process (and the dgram it pulls in) costs every CLI start otherwise.
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    // The table is ASCII digits; latin1 reads any code page without throwing.
    execFile(
      file,
      args,
      { encoding: 'latin1', timeout: NETSH_TIMEOUT_MS, windowsHide: true },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}
