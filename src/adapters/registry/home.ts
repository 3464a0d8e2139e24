/**
 * Where berth keeps its per-user state: `$BERTH_HOME`, else
 * `$XDG_STATE_HOME/berth`, else `~/.local/state/berth` (XDG Base Directory spec).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The berth home folder for an environment.
 *
 * @example
 * berthHome({ BERTH_HOME: '/tmp/b' }) // '/tmp/b'
 */
export function berthHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_HOME) return resolve(env.BERTH_HOME);
  if (env.XDG_STATE_HOME) return join(resolve(env.XDG_STATE_HOME), 'berth');
  return join(homedir(), '.local', 'state', 'berth');
}
