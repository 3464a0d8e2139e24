/**
 * The daemon's request checks. Browsers can reach loopback, so a page from any
 * site could try DNS rebinding (a hostile name resolving to 127.0.0.1) or
 * cross-site requests; the checks below answer both, in this order:
 * Host allow-list, Origin (on mutations and the event stream), token.
 */
import { HttpError } from './errors.js';
import { type HttpRequest, headerValue } from './message.js';
import { tokensEqual } from './token.js';

/** Host names the daemon always answers to. */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Options of {@link createGuard}. */
export interface GuardOptions {
  /** The daemon's port: Host headers must carry it. */
  port: number;
  /** The access token (hex). */
  token: string;
  /** Extra host names the user allowed (`--allow-host`). */
  allowHosts?: readonly string[];
}

/** The checks, bound to one daemon's port, names and token. */
export interface Guard {
  /** Refuses a Host header that is not an allowed name with the daemon's port (DNS rebinding). */
  checkHost(request: HttpRequest): void;
  /** Refuses an Origin header that is present and not the daemon's own origin (cross-site requests). */
  checkOrigin(request: HttpRequest): void;
  /** Refuses a request without the token (bearer header or cookie). */
  checkToken(request: HttpRequest): void;
  /** True when `given` is the token (constant time). */
  isToken(given: string): boolean;
  /** The Set-Cookie value that carries the token for the dashboard. */
  cookie(): string;
  /** Name of the token cookie (per port: cookies are shared by every port of a host). */
  readonly cookieName: string;
}

/** Brackets a bare IPv6 literal so it matches a Host header (`::1` -> `[::1]`). */
function hostName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Builds the checks for one daemon.
 *
 * @example
 * const guard = createGuard({ port: 4949, token });
 * guard.checkHost({ method: 'GET', url: '/', headers: { host: 'localhost:4949' }, body: null });
 */
export function createGuard(options: GuardOptions): Guard {
  const names = [...LOOPBACK_HOST_NAMES, ...(options.allowHosts ?? []).map(hostName)];
  const hosts = new Set(names.map((n) => `${n}:${options.port}`));
  const expected = Buffer.from(options.token, 'utf8');
  const cookieName = `berth_token_${options.port}`;
  const isToken = (given: string) => tokensEqual(given, expected);
  const dashboard = `http://127.0.0.1:${options.port}/`;

  return {
    cookieName,
    isToken,
    checkHost(request) {
      const host = headerValue(request, 'host');
      if (host !== undefined && hosts.has(host.toLowerCase())) return;
      throw new HttpError(
        'E_REFUSED',
        `Host "${host ?? ''}" is not allowed (a guard against DNS rebinding). Open ${dashboard}, or restart berth serve with --allow-host NAME to allow another name.`,
      );
    },
    checkOrigin(request) {
      const origin = headerValue(request, 'origin');
      if (origin === undefined) return;
      // Host passed checkHost, so this is the daemon's own origin exactly; anything else, an IP included, is another site.
      if (origin === `http://${headerValue(request, 'host')?.toLowerCase()}`) return;
      throw new HttpError(
        'E_REFUSED',
        `requests from origin "${origin}" are refused (cross-site). Use the dashboard at ${dashboard}, or call the API without an Origin header (curl, scripts).`,
      );
    },
    checkToken(request) {
      const auth = headerValue(request, 'authorization');
      let given: string | undefined;
      if (auth) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
        given = match?.[1];
      } else {
        given = cookieValue(headerValue(request, 'cookie'), cookieName);
      }
      if (given !== undefined && isToken(given)) return;
      const why = given === undefined ? 'this API needs the token' : 'wrong token';
      throw new HttpError(
        'E_REFUSED',
        `${why}. Open the URL that \`berth serve\` printed, or send "Authorization: Bearer <token>" with the token from $BERTH_HOME/token.`,
      );
    },
    cookie: () => `${cookieName}=${options.token}; HttpOnly; SameSite=Strict; Path=/`,
  };
}
