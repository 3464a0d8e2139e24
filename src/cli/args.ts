/**
 * Argument parsing for every command: node's `util.parseArgs` (no dependency
 * to load at start-up) plus the flags every command takes. Bad arguments
 * become `E_USAGE` errors that name the flag and the fix.
 */

import { parseArgs } from 'node:util';
import { isPort } from '../core/policy.js';
import { closest } from '../core/suggest.js';
import { BerthError } from '../errors.js';
import { ownArguments } from './own-arguments.js';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** Flags every command accepts. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  env: { type: 'string', short: 'e' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  registry: { type: 'string' },
} as const satisfies Record<string, OptionSpec>;

/**
 * The value of berth's own `--registry` (`--registry URL` or `--registry=URL`) in `argv`,
 * if any. Pure: the entry point (main.ts) makes it the command's BERTH_REGISTRY.
 *
 * @example
 * registryArgument(['ls', '--registry', 'etcd://a:2379']) // 'etcd://a:2379'
 */
export function registryArgument(argv: readonly string[]): string | undefined {
  const own = ownArguments(argv);
  let found: string | undefined;
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]!;
    if (arg === '--registry' && i + 1 < own.length) found = own[++i];
    else if (arg.startsWith('--registry=')) found = arg.slice('--registry='.length);
  }
  return found;
}

/** What a command's parser returns. */
export interface Parsed<V> {
  values: V & { config?: string; env?: string; json?: boolean; help?: boolean; registry?: string };
  positionals: string[];
}

/**
 * Parses `argv` for a command with its own options plus the global ones.
 *
 * @example
 * parseCommand('ls', ['--all-projects'], { 'all-projects': { type: 'boolean' } })
 */
export function parseCommand<const O extends Record<string, OptionSpec>>(
  command: string,
  argv: readonly string[],
  options: O,
): Parsed<{
  [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K]['multiple'] extends true
      ? string[]
      : string;
}> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals } as never;
  } catch (error) {
    throw new BerthError(
      'E_USAGE',
      `${command}: ${usageMessage((error as Error).message, Object.keys({ ...GLOBAL_OPTIONS, ...options }))}. Run \`berth ${command} --help\` for its options.`,
    );
  }
}

/** node's parseArgs message in berth's words: the flag, and the close one for a typo. */
function usageMessage(message: string, known: readonly string[]): string {
  const missing = /^Option '(-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `${missing[2]} needs a value, e.g. ${missing[2]} VALUE`;
  const unknown = /^Unknown option '(-{1,2})([\w-]+)'/.exec(message);
  if (unknown) {
    const hint = closest(unknown[2]!, known);
    return `unknown option ${unknown[1]}${unknown[2]}${hint ? ` (did you mean --${hint}?)` : ''}`;
  }
  return message.replace(/\. To specify a positional.*$/s, '').replace(/\.+$/, '');
}

/** Refuses positional arguments a command does not take (`berth ls extra`). */
export function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) {
    throw new BerthError(
      'E_USAGE',
      `${command} takes no arguments, got "${positionals.join(' ')}". Run \`berth ${command} --help\`.`,
    );
  }
}

/**
 * Parses a port argument strictly: digits only, 1-65535 (so `3000;touch x` is a usage error, not a port).
 *
 * @example
 * parsePortArg('3000') // 3000
 */
export function parsePortArg(text: string | undefined, what = 'port'): number {
  if (text === undefined || !/^\d{1,5}$/.test(text) || !isPort(Number(text))) {
    throw new BerthError(
      'E_USAGE',
      `${what} "${text ?? ''}" is not a TCP port. Give a number from 1 to 65535, e.g. 3000.`,
    );
  }
  return Number(text);
}
