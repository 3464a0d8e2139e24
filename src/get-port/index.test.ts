/**
 * get-port's behaviours, as its own test suite checks them, run against
 * `berth-ports/get-port` (the source entry; test/e2e/get-port-compat.test.ts runs the
 * built one, through the package's exports map, in several processes). No port is
 * assumed free: preferred ports come from `reserveBlock` (leased in the registry
 * every test worker shares), everything else from berth's pool.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { close, listen, reserveBlock } from '../../test/helpers.js';
import { openRegistry } from '../adapters/registry/sqlite.js';
import { getPort as berthGetPort, closeGetPort } from '../compose/get-port.js';
import { DEFAULT_POOL } from '../core/policy.js';
import getPort, { clearLockedPorts, portNumbers } from './index.js';

// The entry reads BERTH_HOME at each call: this file's registry.
const home = mkdtempSync(join(tmpdir(), 'berth-get-port-compat-'));
process.env.BERTH_HOME = home;

afterAll(async () => {
  await closeGetPort();
  rmSync(home, { recursive: true, force: true });
});

const inPool = (port: number) => port >= DEFAULT_POOL.min && port <= DEFAULT_POOL.max;

/** Binds `port` on `host` exclusively and closes it: 'ok' or the error code. */
function bind(port: number, host: string): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('ok')));
  });
}

/** The ports this process holds leases on in this file's registry. */
function leasedPorts(): number[] {
  const registry = openRegistry({ home });
  try {
    return registry.leasesOwnedBy(process.pid).map((l) => l.port);
  } finally {
    registry.close();
  }
}

/** A TypeError or RangeError's class and message, to compare with get-port's. */
function thrown(fn: () => unknown): [string, string] | null {
  try {
    fn();
    return null;
  } catch (error) {
    return [(error as Error).constructor.name, (error as Error).message];
  }
}

describe('berth-ports/get-port: the port it returns', () => {
  it('is a number that can be bound at once, on every address', async () => {
    const port = await getPort();
    expect(Number.isInteger(port)).toBe(true);
    expect(inPool(port)).toBe(true);
    expect(await bind(port, '::')).toBe('ok');
    expect(await bind(port, '0.0.0.0')).toBe('ok');
  });

  it('is never the same twice in a row, zero-config or preferred', async () => {
    const [wanted] = (await reserveBlock(1)) as [number];
    const first = await getPort();
    expect(await getPort()).not.toBe(first);
    expect(await getPort({ port: wanted })).toBe(wanted);
    const again = await getPort({ port: wanted });
    expect(again).not.toBe(wanted);
    expect(inPool(again)).toBe(true);
  });

  it('is distinct across many concurrent calls of one process', async () => {
    const [a, b, c] = (await reserveBlock(3)) as [number, number, number];
    const calls = [
      ...Array.from({ length: 40 }, () => getPort()),
      ...Array.from({ length: 5 }, () => getPort({ port: [a, b, c] })),
      ...Array.from({ length: 5 }, () => getPort({ port: portNumbers(a, c) })),
    ];
    const ports = await Promise.all(calls);
    expect(new Set(ports).size).toBe(ports.length);
    // The three preferred ports went to three of the ten calls asking for them; the rest to the pool.
    expect(ports.filter((p) => p === a || p === b || p === c).sort()).toEqual([a, b, c].sort());
    expect(ports.filter((p) => p !== a && p !== b && p !== c).every(inPool)).toBe(true);
  });
});

describe('berth-ports/get-port: preferred ports', () => {
  it('returns the preferred port when it is free', async () => {
    const [wanted] = (await reserveBlock(1)) as [number];
    expect(await getPort({ port: wanted })).toBe(wanted);
  });

  it('falls back to the pool when the preferred port is taken', async () => {
    const [wanted] = (await reserveBlock(1)) as [number];
    const holder = await listen(wanted);
    try {
      const port = await getPort({ port: wanted });
      expect(port).not.toBe(wanted);
      expect(inPool(port)).toBe(true);
    } finally {
      await close(holder);
    }
  });

  it('tries an array in order: the first, the next when the first is taken, the pool when all are', async () => {
    const [a, b, c, d] = (await reserveBlock(4)) as [number, number, number, number];
    expect(await getPort({ port: [a, b] })).toBe(a);
    const holder = await listen(c, '::1');
    try {
      expect(await getPort({ port: [c, d] })).toBe(d);
      const port = await getPort({ port: [c, d] });
      expect([c, d]).not.toContain(port);
      expect(inPool(port)).toBe(true);
    } finally {
      await close(holder);
    }
  });

  it('passes over a port held on any one address: wildcard, IPv4 or IPv6 loopback', async () => {
    const [a, b, c, d] = (await reserveBlock(4)) as [number, number, number, number];
    const holders = await Promise.all([listen(a, '0.0.0.0'), listen(b, '127.0.0.1'), listen(c, '::1')]);
    try {
      expect(await getPort({ port: [a, b, c, d] })).toBe(d);
    } finally {
      await Promise.all(holders.map(close));
    }
  });

  it('takes any iterable: a Set, a generator, portNumbers()', async () => {
    const [a, b, c] = (await reserveBlock(3)) as [number, number, number];
    expect(await getPort({ port: new Set([a]) })).toBe(a);
    const one = function* () {
      yield b;
    };
    expect(await getPort({ port: one() })).toBe(b);
    expect(await getPort({ port: portNumbers(a, c) })).toBe(c);
  });

  it('reads a generator lazily, a chunk at a time: an endless one works', async () => {
    const [a, held, b] = (await reserveBlock(3)) as [number, number, number];
    let pulled = 0;
    const endless = function* (first: number) {
      for (let port = first; ; port++) {
        pulled++;
        // An implementation that spreads the iterable fails here instead of hanging.
        if (pulled > 10_000) throw new Error('the preferred ports were read eagerly');
        yield port;
      }
    };
    expect(await getPort({ port: endless(a) })).toBe(a);
    expect(pulled).toBeLessThanOrEqual(64);

    // The first chunk taken (one port held, repeated): the next chunk is read, and no further.
    const holder = await listen(held);
    try {
      pulled = 0;
      const heldThenFree = function* () {
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield held;
        }
        pulled++;
        yield b;
        for (;;) {
          pulled++;
          if (pulled > 10_000) throw new Error('the preferred ports were read eagerly');
          yield 1;
        }
      };
      expect(await getPort({ port: heldThenFree() })).toBe(b);
      expect(pulled).toBeLessThanOrEqual(3 * 64);
    } finally {
      await close(holder);
    }
  });

  it('rejects preferred ports that are not ports; 0 means no preference', async () => {
    await expect(getPort({ port: 70000 })).rejects.toThrow(RangeError);
    await expect(getPort({ port: [1.5] })).rejects.toThrow(RangeError);
    await expect(getPort({ port: '3000' as never })).rejects.toThrow(TypeError);
    await expect(getPort({ port: [String(3000)] as never })).rejects.toThrow(TypeError);
    expect(inPool(await getPort({ port: 0 }))).toBe(true);
    expect(inPool(await getPort({ port: [] }))).toBe(true);
  });
});

describe('berth-ports/get-port: portNumbers', () => {
  it("throws get-port's errors, at the call", () => {
    const types = '`from` and `to` must be integer numbers';
    expect(thrown(() => portNumbers(1024.5, 2000))).toEqual(['TypeError', types]);
    expect(thrown(() => portNumbers(1024, Number.NaN))).toEqual(['TypeError', types]);
    expect(thrown(() => portNumbers('1024' as never, 2000))).toEqual(['TypeError', types]);
    expect(thrown(() => portNumbers(1023, 2000))).toEqual([
      'RangeError',
      "'from' must be between 1024 and 65535",
    ]);
    expect(thrown(() => portNumbers(65536, 65536))).toEqual([
      'RangeError',
      "'from' must be between 1024 and 65535",
    ]);
    expect(thrown(() => portNumbers(1024, 65536))).toEqual([
      'RangeError',
      "'to' must be between 1024 and 65535",
    ]);
    expect(thrown(() => portNumbers(1025, 1024))).toEqual([
      'RangeError',
      '`to` must be greater than or equal to `from`',
    ]);
  });

  it('generates the range in order, one port at a time', () => {
    expect([...portNumbers(1024, 1024)]).toEqual([1024]);
    expect([...portNumbers(1024, 1027)]).toEqual([1024, 1025, 1026, 1027]);
    const all = portNumbers(1024, 65535);
    expect(Array.isArray(all)).toBe(false);
    const iterator = all[Symbol.iterator]();
    expect([iterator.next().value, iterator.next().value]).toEqual([1024, 1025]);
  });
});

describe('berth-ports/get-port: exclude', () => {
  it("is validated as get-port validates it, with get-port's TypeErrors", async () => {
    await expect(getPort({ exclude: 42 as never })).rejects.toThrow(
      new TypeError('The `exclude` option must be an iterable.'),
    );
    await expect(getPort({ exclude: ['3000'] as never })).rejects.toThrow(
      new TypeError(
        'Each item in the `exclude` option must be a number corresponding to the port you want excluded.',
      ),
    );
    await expect(getPort({ exclude: [2 ** 53] })).rejects.toThrow(
      new TypeError("Number 9007199254740992 in the exclude option is not a safe integer and can't be used"),
    );
    await expect(getPort({ exclude: [1.5] })).rejects.toThrow(
      new TypeError("Number 1.5 in the exclude option is not a safe integer and can't be used"),
    );
    // Falsy is no exclude at all, in get-port too.
    expect(inPool(await getPort({ exclude: null as never }))).toBe(true);
  });

  it('skips excluded preferred ports', async () => {
    const [a, b, c] = (await reserveBlock(3)) as [number, number, number];
    expect(await getPort({ port: [a, b], exclude: [a] })).toBe(b);
    expect(await getPort({ port: portNumbers(a, c), exclude: [a, b] })).toBe(c);
  });

  it('never returns an excluded port, from the pool either', async () => {
    const [a] = (await reserveBlock(1)) as [number];
    // All of the pool but its last 100 ports, given as a generator, and the preferred port.
    const keep = DEFAULT_POOL.max - 99;
    const exclude = () =>
      (function* () {
        yield a;
        yield* portNumbers(DEFAULT_POOL.min, keep - 1);
      })();
    const ports: number[] = [];
    for (let i = 0; i < 5; i++) ports.push(await getPort({ port: a, exclude: exclude() }));
    ports.push(...(await Promise.all([1, 2, 3].map(() => getPort({ exclude: exclude() })))));
    expect(ports.filter((p) => p < keep || p > DEFAULT_POOL.max)).toEqual([]);
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('berth-ports/get-port: host', () => {
  it('checks availability on that address only', async () => {
    const [wanted] = (await reserveBlock(1)) as [number];
    const holder = await listen(wanted, '127.0.0.1');
    try {
      // Held on 127.0.0.1: taken there and on every address, free on ::1 alone.
      expect(await getPort({ port: wanted, host: '127.0.0.1' })).not.toBe(wanted);
      expect(await getPort({ port: wanted })).not.toBe(wanted);
      expect(await getPort({ port: wanted, host: '::1' })).toBe(wanted);
    } finally {
      await close(holder);
    }
  });

  it('returns the preferred port or one that can be bound on that host; a name is resolved', async () => {
    const port = await getPort({ host: '0.0.0.0' });
    expect(await bind(port, '0.0.0.0')).toBe('ok');
    const [a, b] = (await reserveBlock(2)) as [number, number];
    expect(await getPort({ port: a, host: '0.0.0.0' })).toBe(a);
    expect(await getPort({ port: b, host: 'localhost' })).toBe(b);
  });

  it('rejects a host this machine does not have, and keeps no lease for it', async () => {
    const [wanted] = (await reserveBlock(1)) as [number];
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    await expect(getPort({ port: wanted, host: '192.0.2.1' })).rejects.toMatchObject({ code: 'E_PROBE' });
    await expect(getPort({ host: '192.0.2.1' })).rejects.toMatchObject({ code: 'E_PROBE' });
    expect(leasedPorts()).not.toContain(wanted);
  });
});

describe('berth-ports/get-port: reserve and the other listen options', () => {
  it('accepts them', async () => {
    const port = await getPort({ reserve: true, ipv6Only: true, backlog: 10, exclusive: true });
    expect(inPool(port)).toBe(true);
  });
});

describe('berth-ports/get-port: clearLockedPorts', () => {
  it('releases the ports leased through this entry, so the same preferred port comes back', async () => {
    const [wanted] = (await reserveBlock(1)) as [number];
    expect(await getPort({ port: wanted })).toBe(wanted);
    expect(await getPort({ port: wanted })).not.toBe(wanted);
    clearLockedPorts();
    expect(await getPort({ port: wanted })).toBe(wanted);
  });

  it("leaves the ports leased with berth's own getPort", async () => {
    const own = await berthGetPort({ label: 'not from get-port' });
    const compat = await getPort();
    expect(leasedPorts()).toEqual(expect.arrayContaining([own, compat]));
    clearLockedPorts();
    // The releases run in the background; the next getPort of the entry waits for them.
    await getPort();
    expect(leasedPorts()).toContain(own);
    expect(leasedPorts()).not.toContain(compat);
  });
});
