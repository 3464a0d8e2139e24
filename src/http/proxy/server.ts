/**
 * berth's proxy: one stable port on loopback where `<service>.<project>.localhost`
 * reaches that service's leased port. A Host is read (src/core/names.ts), looked
 * up in the name directory (src/compose/names.ts), and either piped
 * (./pipe.ts) or answered by the proxy itself (./pages.ts). The daemon's API
 * and dashboard are on their own port: no name leads there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { NameDirectory } from '../../compose/names.js';
import { type HostTarget, hostTarget, type NameRoute } from '../../core/names.js';
import {
  type NameEntry,
  nameEntries,
  namesPage,
  notRunningPage,
  type ProxyPage,
  REFUSED_PAGE,
  rawResponse,
  wantsJson,
} from './pages.js';
import { clientAddress, createUpstreamAgent, type ForwardedFor, forward, tunnel } from './pipe.js';

/**
 * The proxy's port when `--proxy-port` is not given: always this one, so names
 * in bookmarks, OAuth redirect lists and CORS allow-lists keep working. Outside
 * every ephemeral range (Linux 32768-60999, Windows and macOS 49152-65535),
 * below berth's pool (20000-29999), not a port browsers block, not in this
 * machine's /etc/services, and not a common dev server's (portless takes 1355,
 * hotel 2000); beside the daemon's own 4949.
 */
export const DEFAULT_PROXY_PORT = 4939;

/** The variable that sets the proxy's port when `--proxy-port` is not given. */
export const PROXY_PORT_VARIABLE = 'BERTH_PROXY_PORT';

/** What a Host comes to. */
export type Resolution =
  | { kind: 'refused' }
  | { kind: 'list'; host: string | null; entries: NameEntry[] }
  | { kind: 'route'; route: NameRoute };

/** Options of {@link createProxyHandlers}. */
export interface ProxyOptions {
  directory: NameDirectory;
  /** The proxy's own port (for links and X-Forwarded-Port when the Host carries none). */
  port: number;
  /** Ports a name must never lead to (the daemon's, the proxy's). */
  reserved: ReadonlySet<number>;
}

/** The proxy's request and upgrade handlers, for node:http servers. */
export interface ProxyHandlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  /** What a Host header comes to (tests and the CLI's checks). */
  resolve(host: string | undefined): Promise<Resolution>;
  close(): void;
}

function writePage(res: ServerResponse, page: ProxyPage): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(page.status, { ...page.headers, 'content-length': String(Buffer.byteLength(page.body)) });
  res.end(page.body);
}

function writeRaw(socket: Socket, page: ProxyPage): void {
  if (!socket.destroyed) socket.end(rawResponse(page));
}

/**
 * Builds the handlers over a name directory.
 *
 * @example
 * const proxy = createProxyHandlers({ directory, port: 4939, reserved: new Set([4949]) });
 * http.createServer(proxy.request).on('upgrade', proxy.upgrade).listen(4939, '127.0.0.1');
 */
export function createProxyHandlers(options: ProxyOptions): ProxyHandlers {
  const agent = createUpstreamAgent();
  const { directory, reserved } = options;

  const lookup = (target: HostTarget, table: ReadonlyMap<string, NameRoute>): Resolution => {
    if (target.kind === 'foreign') return { kind: 'refused' };
    const route = target.kind === 'name' ? table.get(target.name) : undefined;
    if (route === undefined || (route.port !== null && reserved.has(route.port))) {
      return {
        kind: 'list',
        host: target.kind === 'name' ? target.name : null,
        entries: nameEntries(table, target.port ?? 80),
      };
    }
    return { kind: 'route', route };
  };

  /**
   * Calls `then` with what `target` comes to: at once while the table is
   * fresh (the common case: no promise per request), after a rebuild otherwise.
   */
  const withResolution = (target: HostTarget, then: (found: Resolution) => void, failed: () => void) => {
    if (target.kind === 'foreign') return then({ kind: 'refused' });
    const table = directory.fresh();
    if (table !== null) return then(lookup(target, table));
    directory.table().then((t) => then(lookup(target, t)), failed);
  };

  const forwardedFor = (req: IncomingMessage, target: HostTarget, proto: string): ForwardedFor => ({
    for: clientAddress(req.socket),
    host: req.headers.host ?? '',
    proto,
    port: target.kind === 'foreign' ? options.port : (target.port ?? 80),
  });

  return {
    async resolve(host) {
      const target = hostTarget(host);
      if (target.kind === 'foreign') return { kind: 'refused' };
      return lookup(target, await directory.table());
    },
    request(req, res) {
      const target = hostTarget(req.headers.host);
      withResolution(
        target,
        (found) => {
          if (found.kind === 'refused') return writePage(res, REFUSED_PAGE);
          const json = wantsJson(req.headers.accept);
          if (found.kind === 'list') return writePage(res, namesPage(found.host, found.entries, json));
          const { route } = found;
          if (route.state !== 'live' || route.port === null) {
            return writePage(res, notRunningPage(route, null, json));
          }
          forward(req, res, route.port, forwardedFor(req, target, 'http'), agent, (reason) =>
            writePage(res, notRunningPage(route, reason, json)),
          );
        },
        () => res.destroy(),
      );
    },
    upgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      const target = hostTarget(req.headers.host);
      withResolution(
        target,
        (found) => {
          if (found.kind === 'refused') return writeRaw(socket, REFUSED_PAGE);
          if (found.kind === 'list') return writeRaw(socket, namesPage(found.host, found.entries, true));
          const { route } = found;
          if (route.state !== 'live' || route.port === null) {
            return writeRaw(socket, notRunningPage(route, null, true));
          }
          tunnel(req, socket, head, route.port, forwardedFor(req, target, 'ws'), (reason) =>
            writeRaw(socket, notRunningPage(route, reason, true)),
          );
        },
        () => socket.destroy(),
      );
    },
    close() {
      agent.destroy();
    },
  };
}
