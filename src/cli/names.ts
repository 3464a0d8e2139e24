/**
 * Names as the CLI shows and hands them out: the running daemon's proxy port,
 * the host names of this checkout's services, and `"urls": "named"` (named
 * URLs when the proxy runs and every name resolves to this machine, else the
 * port URLs and one line saying why).
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortManager } from '../compose/manager.js';
import { registerConfigCheckout } from '../compose/names.js';
import { schemeOf } from '../core/endpoints.js';
import { hostName, isNameable, namedUrl } from '../core/names.js';
import { findRunningDaemon, readDaemonFile } from '../http/daemon-file.js';
import { TOKEN_FILE } from '../http/token.js';

/** Longest a name's resolution may take before it counts as not resolving, in ms. */
const RESOLVE_TIMEOUT_MS = 1_000;

/** The proxy of the running daemon: its port, or why there is none. */
export type ProxyState = { port: number; why: null } | { port: null; why: string };

/** The proxy of the daemon of `home`, asked over its API (so a daemon.json left by a dead one counts for nothing). */
export async function daemonProxy(home: string): Promise<ProxyState> {
  const notRunning: ProxyState = {
    port: null,
    why: 'berth serve is not running (start it with `berth serve`)',
  };
  if (readDaemonFile(home) === null) return notRunning;
  let token: string;
  try {
    token = readFileSync(join(home, TOKEN_FILE), 'utf8').trim();
  } catch {
    return notRunning;
  }
  const running = await findRunningDaemon(home, token);
  if (running === null) return notRunning;
  if (running.proxyPort === null)
    return { port: null, why: 'berth serve runs without its proxy (--no-proxy)' };
  return { port: running.proxyPort, why: null };
}

/** The host name of each of the config's services that has one (http and websocket), registering the checkout. */
export function serviceHosts(pm: PortManager): Map<string, { host: string; scheme: string }> {
  const out = new Map<string, { host: string; scheme: string }>();
  const checkout = registerConfigCheckout(pm.adapters, pm.config);
  if (checkout === null) return out;
  for (const spec of pm.config.services) {
    const scheme = schemeOf(spec);
    if (isNameable(scheme))
      out.set(spec.name, { host: hostName(spec.name, pm.config.environment, checkout), scheme });
  }
  return out;
}

/** The named URL of each service that has a name, on `proxyPort`. */
export function serviceNamedUrls(pm: PortManager, proxyPort: number): Map<string, string> {
  return new Map(
    [...serviceHosts(pm)].map(([service, h]) => [service, namedUrl(h.scheme, h.host, proxyPort)]),
  );
}

/** Whether `host` resolves, on this machine, to loopback addresses only. */
export async function resolvesToLoopback(host: string): Promise<boolean> {
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), RESOLVE_TIMEOUT_MS).unref());
  try {
    const found = await Promise.race([lookup(host, { all: true }), timeout]);
    return (
      found !== null &&
      found.length > 0 &&
      found.every((a) => a.address === '::1' || (a.family === 4 && a.address.startsWith('127.')))
    );
  } catch {
    return false;
  }
}

/** What {@link namedUrlsFor} needs from the machine (tests pass their own). */
export interface NamingProbe {
  proxy: () => Promise<ProxyState>;
  resolves: (host: string) => Promise<boolean>;
}

/**
 * With `"urls": "named"`: the URL `<NAME>_URL` should carry for each service
 * that has a name, when the daemon's proxy runs and every name resolves here;
 * else none, and `warn` gets one line saying why. Without it: none.
 */
export async function namedUrlsFor(
  pm: PortManager,
  probe: NamingProbe,
  warn: (line: string) => void,
): Promise<Map<string, string>> {
  if (pm.config.urls !== 'named') return new Map();
  const fallback = (why: string) => {
    warn(`berth: <NAME>_URL carries port URLs, not names: ${why}`);
    return new Map<string, string>();
  };
  const proxy = await probe.proxy();
  if (proxy.port === null) return fallback(proxy.why);
  const hosts = serviceHosts(pm);
  const resolved = await Promise.all([...hosts.values()].map((h) => probe.resolves(h.host)));
  const missing = [...hosts.values()].find((_, i) => !resolved[i]);
  if (missing) {
    return fallback(
      `${missing.host} does not resolve to this machine here (add it with \`berth hosts --write\`, or use a resolver that sends *.localhost to loopback)`,
    );
  }
  return new Map([...hosts].map(([service, h]) => [service, namedUrl(h.scheme, h.host, proxy.port)]));
}

/** The real probe for `home`. */
export function namingProbe(home: string): NamingProbe {
  return { proxy: () => daemonProxy(home), resolves: resolvesToLoopback };
}
