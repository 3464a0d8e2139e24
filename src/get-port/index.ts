/**
 * `berth-ports/get-port`: get-port 7's API on berth's registry. Switching is one line,
 * `from 'get-port'` becomes `from 'berth-ports/get-port'`. The difference: every port is
 * leased in the shared registry for the calling process, so parallel processes never
 * receive the same port, and it stays leased until the process exits or
 * `clearLockedPorts()`.
 *
 * @example
 * import getPort, { portNumbers } from 'berth-ports/get-port';
 * const port = await getPort({ port: portNumbers(3000, 3100) });
 */
import { isIP } from 'node:net';
import { probeHost } from '../adapters/net/probe.js';
import { berthHome } from '../compose/context.js';
import { type GetPortContext, getPortClosing, getPortContext, type PortCheck } from '../compose/get-port.js';
import { preloadGetPort } from '../compose/preload.js';
import { candidateChunks, excludedPorts, type Options, preferredPorts } from './options.js';

export type { Options } from './options.js';
export { portNumbers } from './port-numbers.js';

preloadGetPort();

/**
 * Preferred ports read from the iterable per registry transaction: one transaction
 * settles a chunk, and an endless generator is read no further than the chunk it is in.
 */
const CHUNK_SIZE = 64;

/** Ports handed out through this entry point, with the context that leased each: what `clearLockedPorts()` releases. */
const handedOut = new Map<number, GetPortContext>();

/** The releases of the last `clearLockedPorts()`: getPort waits for them, so a cleared port can be had at once. */
let clearing: Promise<unknown> = Promise.resolve();

/**
 * Leases a free TCP port for this process, as get-port's `getPort` finds one: the first
 * free preferred port (`port`: a number or any iterable, read lazily), else a port of
 * berth's pool (20000-29999 without well-known ports), never one in `exclude`. With
 * `host`, preferred ports are checked on that address only. Rejects with get-port's
 * TypeErrors for a bad `exclude`.
 *
 * @example
 * import getPort from 'berth-ports/get-port';
 * const port = await getPort({ port: [3000, 3001], exclude: [3002] });
 * server.listen(port);
 */
export default async function getPort(options?: Options): Promise<number> {
  const exclude = excludedPorts(options?.exclude);
  const preferred = preferredPorts(options?.port);
  await clearing;
  const closing = getPortClosing();
  if (closing) await closing;
  // BERTH_HOME as it is at the call: get-port has no option to name a registry.
  const context = getPortContext(berthHome());
  const check = options?.host ? await hostCheck(options.host) : undefined;
  for (const chunk of candidateChunks(preferred, exclude, CHUNK_SIZE)) {
    const port = await context.leaseFirstFree(chunk, check);
    if (port !== null) return handOut(port, context);
  }
  return handOut(await context.leaseFromPool(exclude, check), context);
}

/**
 * Releases every port this process leased through `berth-ports/get-port` (ports leased with
 * berth's own `getPort` stay), so they can be handed out again. Returns at once; the
 * next `getPort` of this entry waits for the releases.
 *
 * @example
 * import getPort, { clearLockedPorts } from 'berth-ports/get-port';
 * await getPort({ port: 3000 }); // 3000, if free
 * clearLockedPorts();
 * await getPort({ port: 3000 }); // 3000 again
 */
export function clearLockedPorts(): void {
  if (handedOut.size === 0) return;
  const leases = [...handedOut];
  handedOut.clear();
  // A lease that cannot be released now (registry locked) ends with the process, as they all do.
  const previous = clearing;
  clearing = previous.then(() => Promise.allSettled(leases.map(([port, context]) => context.release(port))));
}

function handOut(port: number, context: GetPortContext): number {
  handedOut.set(port, context);
  return port;
}

/** A probe of `host` alone: an address, or a name resolved once to the address `listen()` would bind. */
async function hostCheck(host: string): Promise<PortCheck> {
  let address = host;
  if (isIP(host) === 0) {
    const { lookup } = await import('node:dns/promises');
    address = (await lookup(host)).address;
  }
  return (port) => probeHost(port, address);
}
