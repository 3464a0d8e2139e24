/**
 * The daemon's access token: 256 random bits, hex-encoded, kept in
 * `$BERTH_HOME/token` with mode 0600 and reused across restarts, so a bookmarked
 * dashboard URL keeps working while other users of the machine cannot read it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File name of the token inside BERTH_HOME. */
export const TOKEN_FILE = 'token';

/** Random bytes in a token: 32 bytes = 256 bits. */
export const TOKEN_BYTES = 32;

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

function readToken(path: string): string | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return TOKEN_PATTERN.test(text) ? text : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Reads the token from `home`, creating it (mode 0600) when missing or malformed.
 *
 * @example
 * const token = loadOrCreateToken('/home/me/.local/state/berth');
 */
export function loadOrCreateToken(home: string): string {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, TOKEN_FILE);
  const existing = readToken(path);
  if (existing !== null) {
    // A token file someone loosened is tightened again rather than trusted as is.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return existing;
  }
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another daemon created it first (or it was malformed): use a valid one, else replace it.
    const raced = readToken(path);
    if (raced !== null) return raced;
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
  }
  chmodSync(path, 0o600);
  return token;
}

/**
 * Compares a presented token with the real one in constant time (for equal lengths;
 * a length mismatch is refused at once, which reveals only the length, a public fact).
 *
 * @example
 * tokensEqual(given, Buffer.from(token))
 */
export function tokensEqual(given: string, expected: Buffer): boolean {
  const presented = Buffer.from(given, 'utf8');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
