import { type AddressInfo, createServer, type ListenOptions, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../errors.js';
import { createProbe, probeHost, probePort } from './probe.js';
import { readListeners } from './procnet.js';

/** Something listening on one address, and how /proc/net/tcp6 or tcp writes that address. */
interface Occupant {
  name: string;
  listen: Pick<ListenOptions, 'host' | 'ipv6Only'>;
  tableAddress: string;
}

const interfaceAddresses = Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
  (addresses ?? []).filter((address) => !address.internal).map((address) => ({ name, ...address })),
);
const hasIpv6 = Object.values(networkInterfaces())
  .flat()
  .some((address) => address?.family === 'IPv6');

/**
 * The five kinds the issue names, plus every interface address this machine
 * has (IPv4, IPv6, link-local with its zone). IPv6 kinds need IPv6 to exist.
 */
const OCCUPANTS: Occupant[] = [
  { name: '0.0.0.0', listen: { host: '0.0.0.0' }, tableAddress: '0.0.0.0' },
  { name: '127.0.0.1', listen: { host: '127.0.0.1' }, tableAddress: '127.0.0.1' },
  ...(hasIpv6
    ? [
        { name: ':: dual-stack', listen: { host: '::', ipv6Only: false }, tableAddress: '::' },
        { name: ':: IPv6-only', listen: { host: '::', ipv6Only: true }, tableAddress: '::' },
        { name: '::1', listen: { host: '::1' }, tableAddress: '::1' },
      ]
    : []),
  ...interfaceAddresses.map((address) => ({
    name: `interface ${address.name} ${address.address}`,
    listen: {
      host:
        address.family === 'IPv6' && address.scopeid ? `${address.address}%${address.name}` : address.address,
    },
    tableAddress: address.address,
  })),
];

/** Listens on `port` (default: one the kernel picks) at the given address. */
async function occupy(listen: Occupant['listen'], port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, ...listen }, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function release(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

const eachAddress = createProbe({ strategy: 'each-address' });
const dualStack = createProbe({ strategy: 'dual-stack' });

describe('probe against real listeners', () => {
  it('covers the five occupant kinds of the issue on this machine', () => {
    const kinds = OCCUPANTS.map((occupant) => occupant.name);
    expect(kinds).toEqual(expect.arrayContaining(['0.0.0.0', '127.0.0.1']));
    if (hasIpv6) expect(kinds).toEqual(expect.arrayContaining([':: dual-stack', ':: IPv6-only', '::1']));
    expect(OCCUPANTS.length).toBe((hasIpv6 ? 5 : 2) + interfaceAddresses.length);
  });

  for (const occupant of OCCUPANTS) {
    it(`sees a listener on ${occupant.name} as busy, in the kernel table, and free once closed`, async () => {
      const { server, port } = await occupy(occupant.listen);
      try {
        expect(await probePort(port)).toBe('busy');
        expect(await dualStack.check(port)).toBe('busy');
        expect(await eachAddress.check(port)).toBe('busy');
        const table = readListeners();
        if (process.platform === 'linux') {
          expect(table).toContainEqual({
            address: occupant.tableAddress,
            port,
            inode: expect.any(Number),
            uid: process.getuid?.() ?? -1,
          });
          expect(table?.find((listener) => listener.port === port)?.inode).toBeGreaterThan(0);
        } else {
          expect(table).toBeNull();
        }
      } finally {
        await release(server);
      }
      expect(await probePort(port)).toBe('free');
      expect(await eachAddress.check(port)).toBe('free');
      expect(readListeners()?.some((listener) => listener.port === port) ?? false).toBe(false);
    });
  }

  it('leaves the port bindable at once: the probe closes before it resolves', async () => {
    const { server, port } = await occupy({ host: '127.0.0.1' });
    await release(server);
    expect(await probePort(port)).toBe('free');
    // The probed port is free again on every address at once: the dual-stack wildcard
    // (or 0.0.0.0 without IPv6) conflicts with any socket the probe could have left open.
    const again = await occupy(hasIpv6 ? { host: '::', ipv6Only: false } : { host: '0.0.0.0' }, port);
    expect(again.port).toBe(port);
    await release(again.server);
    // And on loopback, where servers usually bind.
    const rebound = createServer();
    await new Promise<void>((resolve, reject) => {
      rebound.once('error', reject);
      rebound.listen({ port, host: '127.0.0.1' }, resolve);
    });
    await release(rebound);
  });
});

describe('checkNow', () => {
  it.runIf(process.platform === 'linux')(
    'answers a free port at once, with the port released on return; a busy one through its events',
    async () => {
      const { server, port } = await occupy({ host: '127.0.0.1' });
      // Busy: the bind fails, and the answer comes with the error event.
      const busy = dualStack.checkNow!(port);
      expect(busy).toBeInstanceOf(Promise);
      expect(await busy).toBe('busy');
      await release(server);
      // Free: answered before checkNow returns, and the port is bindable right after, in the same run.
      expect(dualStack.checkNow!(port)).toBe('free');
      // (No host: Node binds the wildcard, dual-stack, inside listen(); a host would be looked up first.)
      const again = createServer();
      again.listen({ port, exclusive: true });
      expect(again.listening).toBe(true);
      await release(again);
      // The each-address strategy binds several addresses in turn: a promise, as check's.
      expect(await eachAddress.checkNow!(port)).toBe('free');
    },
  );
});

describe('probeHost', () => {
  it('probes one address only', async () => {
    const { server, port } = await occupy({ host: '127.0.0.1' });
    try {
      expect(await probeHost(port, '127.0.0.1')).toBe('busy');
      expect(await probeHost(port, '0.0.0.0')).toBe('busy');
      if (hasIpv6) {
        expect(await probeHost(port, '::1')).toBe('free');
        expect(await probeHost(port, '::')).toBe('busy'); // dual-stack covers IPv4
      }
    } finally {
      await release(server);
    }
  });

  it('rejects a name with E_PROBE, not busy', async () => {
    const error = await probeHost(3000, 'not-an-ip').catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PROBE')).toBe(true);
    expect((error as Error).message).toBe(
      'cannot probe port 3000 on "not-an-ip": not an IP address. Pass an address such as 127.0.0.1, ::1 or 0.0.0.0.',
    );
  });

  it('rejects an address this machine does not have with E_PROBE naming port, host and code', async () => {
    // TEST-NET-3 (RFC 5737): never assigned to a real interface.
    const error = await probeHost(3000, '203.0.113.7').catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PROBE')).toBe(true);
    expect(error).toMatchObject({ data: { port: 3000, host: '203.0.113.7', code: 'EADDRNOTAVAIL' } });
    expect((error as Error).message).toMatch(
      /^probe of port 3000 on 203\.0\.113\.7 failed with EADDRNOTAVAIL\. .*interfaces\.$/,
    );
  });

  it('refuses a port out of range with E_USAGE', async () => {
    await expect(probeHost(70000, '127.0.0.1')).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(probePort(0)).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
