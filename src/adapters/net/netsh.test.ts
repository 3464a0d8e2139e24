import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../errors.js';
import { NETSH_EXCLUDED_RANGES_ARGS, parseNetshExcludedPortRanges, readExcludedRanges } from './netsh.js';

// Windows 11, English; netsh ends lines with CRLF.
const ENGLISH = [
  '',
  'Protocol tcp Port Exclusion Ranges',
  '',
  'Start Port    End Port',
  '----------    --------',
  '      5357        5357',
  '      7680        7680',
  '     49709       49808',
  '     50000       50059     *',
  '',
  '* - Administered port exclusions.',
  '',
  '',
].join('\r\n');

// Windows 10, German: other words, other widths, same numbers.
const GERMAN = [
  '',
  'Portausschlussbereiche für das Protokoll "tcp"',
  '',
  'Startport    Endport',
  '----------    --------',
  '      1080        1179',
  '      2869        2869',
  '     50000       50059     *',
  '',
  '* - Verwaltete Portausschlüsse.',
  '',
].join('\r\n');

// No exclusions at all: headers only.
const EMPTY = [
  '',
  'Protocol tcp Port Exclusion Ranges',
  '',
  'Start Port    End Port',
  '----------    --------',
  '',
  '* - Administered port exclusions.',
  '',
].join('\r\n');

describe('parseNetshExcludedPortRanges', () => {
  it('reads the English table, administered rows included', () => {
    expect(parseNetshExcludedPortRanges(ENGLISH)).toEqual([
      { min: 5357, max: 5357 },
      { min: 7680, max: 7680 },
      { min: 49709, max: 49808 },
      { min: 50000, max: 50059 },
    ]);
  });

  it('reads the German table from the numbers alone', () => {
    expect(parseNetshExcludedPortRanges(GERMAN)).toEqual([
      { min: 1080, max: 1179 },
      { min: 2869, max: 2869 },
      { min: 50000, max: 50059 },
    ]);
  });

  it('returns nothing for an empty table or empty output', () => {
    expect(parseNetshExcludedPortRanges(EMPTY)).toEqual([]);
    expect(parseNetshExcludedPortRanges('')).toEqual([]);
  });

  it('reads LF-only output too', () => {
    expect(parseNetshExcludedPortRanges(ENGLISH.replaceAll('\r\n', '\n'))).toHaveLength(4);
  });

  it('ignores rows that are not two ports in order', () => {
    const text = [
      '      3000',
      '      3000        2000',
      '         0          10',
      '     65535       70000',
      '      3000        3001     x',
      '      3000        3001 3002',
      '      4000        4001',
    ].join('\r\n');
    expect(parseNetshExcludedPortRanges(text)).toEqual([{ min: 4000, max: 4001 }]);
  });
});

describe('readExcludedRanges', () => {
  it('runs nothing off Windows', async () => {
    const calls: string[] = [];
    const run = async (file: string) => {
      calls.push(file);
      return ENGLISH;
    };
    expect(await readExcludedRanges('linux', run)).toEqual([]);
    expect(await readExcludedRanges('darwin', run)).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('runs netsh with an argument list on Windows and parses its output', async () => {
    const calls: [string, readonly string[]][] = [];
    const run = async (file: string, args: readonly string[]) => {
      calls.push([file, args]);
      return GERMAN;
    };
    expect(await readExcludedRanges('win32', run)).toHaveLength(3);
    expect(calls).toEqual([['netsh', ['int', 'ipv4', 'show', 'excludedportrange', 'protocol=tcp']]]);
    expect(NETSH_EXCLUDED_RANGES_ARGS).toEqual(['int', 'ipv4', 'show', 'excludedportrange', 'protocol=tcp']);
  });

  it('turns a netsh failure into E_PROBE with the command and a fix', async () => {
    const run = async () => {
      throw Object.assign(new Error('spawn netsh ENOENT'), { code: 'ENOENT' });
    };
    const error = await readExcludedRanges('win32', run).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PROBE')).toBe(true);
    expect((error as Error).message).toMatch(
      /netsh int ipv4 show excludedportrange protocol=tcp failed \(ENOENT\)/,
    );
    expect((error as Error).message).toMatch(/exclude\.$/);
  });
});
