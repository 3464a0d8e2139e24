/**
 * The daemon: leases its own port like any other, binds it on loopback
 * (127.0.0.1 and ::1), serves the app, and says where it is in daemon.json.
 * `close()` undoes every step.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { type Adapters, openAdapters } from '../compose/context.js';
import { getPort, releasePort } from '../compose/get-port.js';
import { ProjectRegistries, registryOpener } from '../compose/project-registries.js';
import { BerthError } from '../errors.js';
import { createApp, type DaemonApp } from './app.js';
import { loadAssets } from './assets.js';
import { bindAll, closeServer } from './bind.js';
import { ConfigCache } from './config-cache.js';
import { type DaemonInfo, removeDaemonFile, writeDaemonFile } from './daemon-file.js';
import type { HealthCheck } from './health.js';
import { createNodeListener } from './node-adapter.js';
import { leaseProxyPort, type RunningProxy, startProxy } from './proxy/start.js';
import { loadOrCreateToken } from './token.js';

/** The daemon's preferred port when `--port` is not given. */
export const DEFAULT_DAEMON_PORT = 4949;

/** Slowloris guard: a request must arrive whole within this time (event streams are responses, not requests). */
const REQUEST_TIMEOUT_MS = 15_000;

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  /** BERTH_HOME: registry, token and daemon.json. */
  home: string;
  /** Port to use; fails when taken. Default: {@link DEFAULT_DAEMON_PORT} if free, else one from the pool. */
  port?: number;
  /** Address to bind; default loopback (127.0.0.1 and ::1). Anything else needs `unsafeExpose`. */
  host?: string;
  /** Allows a non-loopback `host`. The token stays mandatory. */
  unsafeExpose?: boolean;
  /** Extra Host header names to answer to. */
  allowHosts?: readonly string[];
  /**
   * The proxy's port (names), `null` for none. Default: \$BERTH_PROXY_PORT, else
   * {@link DEFAULT_PROXY_PORT}. Held by another process: `E_PORT_HELD` naming it.
   */
  proxyPort?: number | null;
  /** Health check override (tests). */
  check?: HealthCheck;
  /** Informational lines (port moved, ::1 unavailable). */
  log?: (line: string) => void;
}

/** A running daemon. */
export interface Daemon extends DaemonInfo {
  /** The URL that logs the browser in: sets the token cookie and redirects to the dashboard. */
  tokenUrl: string;
  /** Addresses actually bound. */
  addresses: string[];
  /** Addresses the proxy bound (empty without a proxy). */
  proxyAddresses: string[];
  app: DaemonApp;
  /** Stops serving, removes daemon.json and releases the port. */
  close(): Promise<void>;
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/**
 * Refuses a non-loopback bind address unless the user said `--unsafe-expose`.
 *
 * @example
 * checkExposure('0.0.0.0', false) // throws E_USAGE
 */
export function checkExposure(host: string | undefined, unsafeExpose: boolean): void {
  if (host === undefined || isLoopbackHost(host) || unsafeExpose) return;
  throw new BerthError(
    'E_USAGE',
    `--host ${host} would expose the daemon beyond this machine. Bind loopback (the default), or add --unsafe-expose if you really mean it (the token stays required).`,
  );
}

/** Leases the daemon's port: the explicit one or nothing, else 4949 or the pool (said aloud). */
async function leasePort(options: DaemonOptions, log: (line: string) => void): Promise<number> {
  const { home, port } = options;
  if (port !== undefined) {
    return getPort({ port, range: [port, port], home, label: 'berth serve' }).catch((error: unknown) => {
      throw new BerthError(
        'E_PORT_HELD',
        `port ${port} is taken. Pick another with --port, or leave it out to let berth choose.`,
        { cause: error, data: { port } },
      );
    });
  }
  const got = await getPort({ port: DEFAULT_DAEMON_PORT, home, label: 'berth serve' });
  if (got !== DEFAULT_DAEMON_PORT) log(`port ${DEFAULT_DAEMON_PORT} is taken; serving on ${got} instead`);
  return got;
}

/**
 * Starts the daemon. Throws `E_USAGE` for a non-loopback host without `unsafeExpose`,
 * `E_PORT_HELD` when an explicit port is taken.
 *
 * @example
 * const daemon = await startDaemon({ home });
 * console.log(daemon.tokenUrl);
 * await daemon.close();
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const log = options.log ?? (() => {});
  const { home, host } = options;
  checkExposure(host, options.unsafeExpose === true);
  // Read first: a broken install fails before anything is leased or bound.
  const assets = loadAssets();
  const token = loadOrCreateToken(home);
  const hosts =
    host === undefined || host.toLowerCase() === 'localhost'
      ? ['127.0.0.1', '::1']
      : [host.replace(/^\[|\]$/g, '')];
  const wildcard = hosts[0] === '0.0.0.0' || hosts[0] === '::';
  const allowHosts = [...(options.allowHosts ?? [])];
  // A specific bind address (127.0.0.2, a LAN address) is how users will reach it, so its
  // Host header is allowed; a wildcard needs --allow-host per name.
  if (host !== undefined && !wildcard) allowHosts.push(hosts[0]!);
  const port = await leasePort(options, log);
  const shown = wildcard ? '127.0.0.1' : hosts[0]!.includes(':') ? `[${hosts[0]}]` : hosts[0]!;
  const url = `http://${shown}:${port}/`;
  let adapters: Adapters | null = null;
  let app: DaemonApp | null = null;
  let servers: Server[] = [];
  let proxy: RunningProxy | null = null;
  let proxyPort: number | null = null;
  const configs = new ConfigCache();
  const undo = async () => {
    app?.close();
    await proxy?.close();
    await Promise.all(servers.map(closeServer));
    adapters?.checkouts.close();
    adapters?.registry.close();
    if (proxyPort !== null) await releasePort(proxyPort, { home });
    await releasePort(port, { home });
  };
  let addresses: string[];
  try {
    adapters = await openAdapters({ home, adapters: { log } });
    // Taken before anything is bound: a held proxy port fails the start, naming its holder.
    if (options.proxyPort !== null) proxyPort = await leaseProxyPort(adapters, home, options.proxyPort);
    app = createApp({
      adapters,
      registries: new ProjectRegistries(adapters, registryOpener(adapters, home)),
      port,
      token,
      allowHosts,
      assets,
      configs,
      proxyPort,
      ...(options.check ? { check: options.check } : {}),
      status: () => ({ pid: process.pid, url }),
    });
    const listener = createNodeListener(app);
    ({ servers, addresses } = await bindAll(
      hosts,
      port,
      () =>
        createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS }, listener),
      log,
    ));
    if (proxyPort !== null) {
      proxy = await startProxy({ adapters, configs, app, port: proxyPort, daemonPort: port, log });
    }
  } catch (error) {
    await undo();
    throw error;
  }
  const info: DaemonInfo = { pid: process.pid, port, url, proxyPort };
  writeDaemonFile(home, info);
  app.start();
  let closing: Promise<void> | null = null;
  return {
    ...info,
    tokenUrl: `${url}?token=${token}`,
    addresses,
    proxyAddresses: proxy?.addresses ?? [],
    app,
    close: () => {
      closing ??= (async () => {
        removeDaemonFile(home, process.pid);
        await undo();
      })();
      return closing;
    },
  };
}
