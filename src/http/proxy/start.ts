/**
 * The proxy's place in the daemon: its port, leased like the daemon's own (so
 * berth never hands it to a service) but never moved, because names are only
 * worth their port's stability; and its servers on 127.0.0.1 and ::1.
 */
import { createServer, type Server } from 'node:http';
import type { Adapters } from '../../compose/context.js';
import { getPort } from '../../compose/get-port.js';
import { NameDirectory } from '../../compose/names.js';
import { NAMES_ENVIRONMENT } from '../../core/names.js';
import { isPort } from '../../core/policy.js';
import { BerthError } from '../../errors.js';
import type { DaemonApp } from '../app.js';
import { bindAll, closeServer } from '../bind.js';
import type { ConfigCache } from '../config-cache.js';
import {
  createProxyHandlers,
  DEFAULT_PROXY_PORT,
  PROXY_PORT_VARIABLE,
  type ProxyHandlers,
} from './server.js';

/** How long the proxy waits for a request's headers, in ms. Bodies have no limit: uploads and long polls take what they take. */
const HEADERS_TIMEOUT_MS = 60_000;

/**
 * The proxy port asked for: `--proxy-port`, else `$BERTH_PROXY_PORT`, else
 * {@link DEFAULT_PROXY_PORT}. A variable that is not a port is an error naming it.
 */
export function proxyPortWanted(given: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (given !== undefined) return given;
  const text = env[PROXY_PORT_VARIABLE];
  if (text === undefined || text === '') return DEFAULT_PROXY_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || !isPort(port)) {
    throw new BerthError(
      'E_USAGE',
      `${PROXY_PORT_VARIABLE}=${text} is not a port. Set it to a port from 1 to 65535, or unset it for ${DEFAULT_PROXY_PORT}.`,
    );
  }
  return port;
}

/**
 * Leases the proxy's port for this process, never another: taken, it is
 * `E_PORT_HELD` naming who holds it and the ways out.
 */
export async function leaseProxyPort(
  adapters: Adapters,
  home: string,
  given: number | undefined,
): Promise<number> {
  const port = proxyPortWanted(given);
  try {
    return await getPort({ port, range: [port, port], home, label: 'berth serve proxy' });
  } catch (error) {
    throw new BerthError(
      'E_PORT_HELD',
      `the proxy's port ${port} is held by ${await describeHolder(adapters, port)}. Stop it, or run the proxy on another port with --proxy-port N (or ${PROXY_PORT_VARIABLE}=N; --no-proxy for none).`,
      { cause: error, data: { port } },
    );
  }
}

/** `pid 4242 (nginx: master process) of ada`, or the lease that holds the port, or what is known. */
async function describeHolder(adapters: Adapters, port: number): Promise<string> {
  try {
    const found = await adapters.holders.find(port, await adapters.freshListeners.read());
    const holder = found.holders[0];
    if (holder) {
      return `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}${holder.user ? ` of ${holder.user}` : ''}`;
    }
    if (found.hidden.length > 0) return "a process berth cannot see (another user's?)";
  } catch {
    // Fall through to the lease, if any.
  }
  const lease = adapters.registry.leasesInRange(port, port)[0];
  if (lease) {
    const who = lease.kind === 'adhoc' ? lease.service : `${lease.project}/${lease.service}`;
    return `berth's lease for ${who}${lease.owner ? ` (pid ${lease.owner.pid})` : ''}`;
  }
  return 'another process';
}

/** A proxy that serves. */
export interface RunningProxy {
  port: number;
  addresses: string[];
  handlers: ProxyHandlers;
  close(): Promise<void>;
}

/** What {@link startProxy} needs from the daemon. */
export interface StartProxyOptions {
  adapters: Adapters;
  configs: ConfigCache;
  app: DaemonApp;
  port: number;
  /** The daemon's own port: no name may lead there. */
  daemonPort: number;
  log: (line: string) => void;
}

/** Binds the proxy on 127.0.0.1 and ::1 over a name directory that follows the registry. */
export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const { adapters, configs, app, port } = options;
  const directory = new NameDirectory({
    adapters,
    configs: (dir) => configs.get(dir, NAMES_ENVIRONMENT),
    version: () => {
      app.hub.maybeSync();
      return app.hub.version;
    },
  });
  const handlers = createProxyHandlers({
    directory,
    port,
    reserved: new Set([port, options.daemonPort]),
  });
  const make = (): Server => {
    const server = createServer({ requestTimeout: 0, headersTimeout: HEADERS_TIMEOUT_MS }, handlers.request);
    server.on('upgrade', handlers.upgrade);
    return server;
  };
  const { servers, addresses } = await bindAll(['127.0.0.1', '::1'], port, make, options.log, '--proxy-port');
  return {
    port,
    addresses,
    handlers,
    close: async () => {
      handlers.close();
      await Promise.all(servers.map(closeServer));
    },
  };
}
