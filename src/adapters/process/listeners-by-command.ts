/**
 * Who listens on a port where there is no /proc to read: ask lsof, then
 * netstat. Both run through `execFile` with argument arrays, never a shell, so
 * nothing in a port argument can become a command.
 */
import { isPort } from '../../core/policy.js';
import { BerthError } from '../../errors.js';
import type { CommandListener } from './command-listener.js';
import { errnoCode } from './errno.js';
import { parseLsofListen } from './lsof.js';
import { parseNetstatListen } from './netstat.js';

/** How long lsof or netstat may run before berth gives up on it, in milliseconds. */
export const LISTENER_COMMAND_TIMEOUT_MS = 10_000;

/** Largest output read from lsof or netstat, in bytes (netstat lists every socket of a busy machine). */
const LISTENER_COMMAND_MAX_BUFFER_BYTES = 32 * 1024 * 1024;

/** What running a command produced: its output and exit code, or that it is not installed. */
export type CommandResult = { state: 'ran'; exitCode: number; stdout: string } | { state: 'missing' };

/** Runs `file` with `args` (no shell). */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandResult>;

/** Options for {@link listListenersByCommand}; tests replace the runner and the platform. */
export interface ListListenersOptions {
  /** Platform whose tools to use; default `process.platform`. */
  platform?: NodeJS.Platform;
  /** Runs one command; default `execFile` with a timeout. */
  run?: CommandRunner;
}

/** The default runner: `execFile`, a non-zero exit is a result, a missing binary is `missing`. */
export const runCommand: CommandRunner = async (file, args) => {
  // Loaded on demand: only the non-Linux fall-back runs commands.
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        timeout: LISTENER_COMMAND_TIMEOUT_MS,
        maxBuffer: LISTENER_COMMAND_MAX_BUFFER_BYTES,
        windowsHide: true,
      },
      (error, stdout) => {
        if (error === null) return resolve({ state: 'ran', exitCode: 0, stdout });
        if (errnoCode(error) === 'ENOENT') return resolve({ state: 'missing' });
        // A numeric code is the exit status (lsof exits 1 when it finds nothing); anything else
        // (a timeout kill, an overflowing buffer) is a failure to report.
        if (typeof error.code === 'number' && error.killed !== true) {
          return resolve({ state: 'ran', exitCode: error.code, stdout });
        }
        reject(
          new BerthError(
            'E_PROBE',
            `${file} failed: ${error.message}. Run \`${file} ${args.join(' ')}\` yourself to see why.`,
            {
              data: { file, args: [...args] },
              cause: error,
            },
          ),
        );
      },
    );
  });
};

async function viaLsof(port: number, run: CommandRunner): Promise<CommandListener[] | null> {
  const result = await run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-F', 'pcLun']);
  if (result.state === 'missing') return null;
  // Exit 1 with no output is lsof's "no such files"; exit 1 with output means some files were unreadable.
  if (result.exitCode !== 0 && result.stdout.trim() === '') return [];
  return parseLsofListen(result.stdout).filter((found) => found.port === port);
}

async function viaNetstat(
  port: number,
  platform: 'win32' | 'darwin',
  run: CommandRunner,
): Promise<CommandListener[] | null> {
  // Windows: no `-p tcp`, which would leave out IPv6 sockets (those are `-p tcpv6`).
  const args = platform === 'win32' ? ['-ano'] : ['-anv', '-p', 'tcp'];
  const result = await run('netstat', args);
  if (result.state === 'missing') return null;
  if (result.exitCode !== 0) {
    throw new BerthError(
      'E_PROBE',
      `netstat ${args.join(' ')} exited with code ${result.exitCode}. Run it yourself to see why.`,
      {
        data: { file: 'netstat', args, exitCode: result.exitCode },
      },
    );
  }
  return parseNetstatListen(result.stdout, platform).filter((found) => found.port === port);
}

/**
 * The processes listening on TCP `port`, from lsof and then netstat (used off
 * Linux, where /proc gives the answer directly). On macOS, when lsof sees
 * nothing, netstat is asked as well: lsof run by a normal user does not see
 * other users' sockets, while `netstat -anv` lists every socket with its pid.
 *
 * @example
 * const listeners = await listListenersByCommand(3000);
 * // [{ pid: 4242, command: 'node', user: 'ada', uid: 501, address: '*', port: 3000 }]
 */
export async function listListenersByCommand(
  port: number,
  options: ListListenersOptions = {},
): Promise<CommandListener[]> {
  if (!isPort(port)) {
    throw new BerthError('E_USAGE', `invalid port ${String(port)}. Give a whole number from 1 to 65535.`, {
      data: { port },
    });
  }
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  const fromLsof = platform === 'win32' ? null : await viaLsof(port, run);
  if (fromLsof !== null && (fromLsof.length > 0 || platform !== 'darwin')) return fromLsof;
  const fromNetstat =
    platform === 'win32' || platform === 'darwin' ? await viaNetstat(port, platform, run) : null;
  if (fromNetstat !== null) return fromNetstat;
  if (fromLsof !== null) return fromLsof;
  throw new BerthError(
    'E_PROBE',
    `cannot tell which process listens on port ${port}: neither lsof nor netstat is available. Install lsof.`,
    { data: { port, platform } },
  );
}
