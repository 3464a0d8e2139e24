/**
 * `$BERTH_HOME/daemon.json`: where the running daemon is, `{ pid, port, url }`,
 * so a second `berth serve` (and tools) can find it. Never trusted alone: a
 * daemon counts as running only while its pid lives and it answers.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File name inside BERTH_HOME. */
export const DAEMON_FILE = 'daemon.json';

/** How long the running-daemon check waits for an answer. */
const STATUS_TIMEOUT_MS = 1_500;

/** What daemon.json holds. */
export interface DaemonInfo {
  pid: number;
  port: number;
  /** The dashboard's address without the token, e.g. `http://127.0.0.1:4949/`. */
  url: string;
  /** The proxy's port (names: `http://web.shop.localhost:<proxyPort>`), `null` when it runs without one. */
  proxyPort: number | null;
}

/** Reads daemon.json; `null` when missing or malformed. */
export function readDaemonFile(home: string): DaemonInfo | null {
  try {
    const raw = JSON.parse(readFileSync(join(home, DAEMON_FILE), 'utf8')) as Partial<DaemonInfo>;
    if (Number.isInteger(raw.pid) && Number.isInteger(raw.port) && typeof raw.url === 'string') {
      const proxyPort = Number.isInteger(raw.proxyPort) ? raw.proxyPort! : null;
      return { pid: raw.pid!, port: raw.port!, url: raw.url, proxyPort };
    }
    return null;
  } catch {
    return null;
  }
}

/** Writes daemon.json (mode 0600: it is nobody else's business where the daemon listens). */
export function writeDaemonFile(home: string, info: DaemonInfo): void {
  writeFileSync(join(home, DAEMON_FILE), `${JSON.stringify(info)}\n`, { mode: 0o600 });
}

/** Removes daemon.json if it still describes process `pid` (a newer daemon's file is left alone). */
export function removeDaemonFile(home: string, pid: number): void {
  if (readDaemonFile(home)?.pid === pid) rmSync(join(home, DAEMON_FILE), { force: true });
}

function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but another user's: not our daemon, yet not dead either.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running daemon of `home`: daemon.json names a live pid, and that pid answers
 * `GET /api/status` with the token. `null` otherwise.
 *
 * @example
 * const running = await findRunningDaemon(home, token);
 * if (running) console.log(`already running at ${running.url}`);
 */
export async function findRunningDaemon(home: string, token: string): Promise<DaemonInfo | null> {
  const info = readDaemonFile(home);
  if (info === null || !pidAlive(info.pid)) return null;
  try {
    const res = await fetch(new URL('/api/status', info.url), {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { data?: { pid?: unknown } };
    return body.data?.pid === info.pid ? info : null;
  } catch {
    return null;
  }
}
