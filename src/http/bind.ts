/**
 * Binding node:http servers on loopback, for the daemon and its proxy: every
 * address (127.0.0.1 and ::1), exclusively, and undone whole when one fails.
 */
import type { Server } from 'node:http';
import { BerthError } from '../errors.js';

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stops a server and drops its open connections. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Whether a bind error means the address family or address is missing here (no IPv6), not a failure. */
function addressUnavailable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT' || code === 'EINVAL';
}

/**
 * Binds every address, each with a server `make` builds; the ones after the first
 * (::1) may be missing on this machine. `flag` is the option that picks another port.
 */
export async function bindAll(
  hosts: readonly string[],
  port: number,
  make: () => Server,
  log: (line: string) => void,
  flag = '--port',
): Promise<{ servers: Server[]; addresses: string[] }> {
  const servers: Server[] = [];
  const addresses: string[] = [];
  try {
    for (const [i, address] of hosts.entries()) {
      const server = make();
      try {
        await listen(server, port, address);
        servers.push(server);
        addresses.push(address);
      } catch (error) {
        // ::1 is a bonus: a machine without IPv6 still gets the daemon on 127.0.0.1.
        if (i > 0 && addressUnavailable(error)) {
          log(`${address} is not available here; serving on ${hosts[0]} only`);
          continue;
        }
        throw new BerthError(
          (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'E_PORT_HELD' : 'E_PROBE',
          `cannot listen on ${address}:${port}: ${(error as Error).message}. Pick another port with ${flag}.`,
          { cause: error, data: { port, host: address } },
        );
      }
    }
  } catch (error) {
    await Promise.all(servers.map(closeServer));
    throw error;
  }
  return { servers, addresses };
}
