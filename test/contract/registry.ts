/**
 * The behaviour every registry owes the core (src/core/registry.ts), as one suite
 * that runs against each adapter: SQLite in the normal suite
 * (src/adapters/registry/sqlite.test.ts), etcd in `npm run test:etcd`
 * (test/etcd/contract.test.ts). What only one adapter does (SQLite's lock queue,
 * migrations; etcd's members and leases) is tested beside it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewLease, Registry, RegistryTx } from '../../src/core/registry.js';

/** Opens a fresh, empty registry; `beforeBatch` is the batch hook. The suite closes it. */
export type OpenRegistry = (options?: { beforeBatch?: (tx: RegistryTx) => void }) => Promise<Registry>;

/** A lease to insert, with overrides. */
export function lease(over: Partial<NewLease> = {}): NewLease {
  return {
    port: 4000,
    kind: 'service',
    project: 'shop',
    dir: '/w/shop',
    environment: 'development',
    service: 'server',
    inheritsFrom: null,
    owner: null,
    createdAt: 1,
    expiresAt: null,
    scheme: 'http',
    ...over,
  };
}

/**
 * The shared suite: call it inside a file's top level with a way to open a registry.
 *
 * @example
 * registryContract('sqlite', async (options) => openRegistry({ home: tempHome(), ...options }));
 */
export function registryContract(name: string, open: OpenRegistry): void {
  const opened: Registry[] = [];
  const registryIn = async (options?: Parameters<OpenRegistry>[0]) => {
    const registry = await open(options);
    opened.push(registry);
    return registry;
  };
  const closeAll = () => {
    for (const r of opened.splice(0)) r.close();
  };

  describe(`registry contract: ${name}`, () => {
    afterEach(closeAll);

    it('inserts, reads back by scope, range and pid, and removes into history', async () => {
      const r = await registryIn();
      await r.transaction((tx) => {
        tx.insert(lease());
        tx.insert(lease({ service: 'websocket', inheritsFrom: 'server' }));
        tx.insert(lease({ port: 4001, service: 'client', owner: { pid: 77, startTime: '9' } }));
      });
      expect(r.scopeLeases({ dir: '/w/shop', environment: 'development' }).map((l) => l.service)).toEqual([
        'server',
        'websocket',
        'client',
      ]);
      expect(r.leasesInRange(4001, 4001).map((l) => l.service)).toEqual(['client']);
      // Owning leases only: websocket shares 4000 with server.
      expect(r.leasedPorts(3000, 5000)).toEqual([4000, 4001]);
      expect(r.leasesOwnedBy(77)[0]!.owner).toEqual({ pid: 77, startTime: '9' });
      const server = r.scopeLeases({ dir: '/w/shop', environment: 'development' })[0]!;
      expect(r.lease(server.id)?.service).toBe('server');
      await r.transaction((tx) => tx.remove(server.id, 'released'));
      // Removing a root removes the rows that inherit its port.
      expect(r.scopeLeases({ dir: '/w/shop', environment: 'development' }).map((l) => l.service)).toEqual([
        'client',
      ]);
      expect(r.lease(server.id)).toBeNull();
      expect(r.history({ dir: '/w/shop', environment: 'development' }).get('server')).toBe(4000);
    });

    it('forgets the history of one scope only (a test run that never comes back)', async () => {
      const r = await registryIn();
      const run = { dir: '/w/shop', environment: 'test.run-3f9a2c01' };
      await r.transaction((tx) => {
        tx.insert(lease());
        tx.insert(lease({ port: 4001, environment: run.environment }));
      });
      await r.transaction((tx) => {
        for (const l of tx.allLeases()) tx.remove(l.id, 'released');
        tx.forgetHistory(run);
      });
      expect(r.history(run).size).toBe(0);
      expect(r.history({ dir: '/w/shop', environment: 'development' }).get('server')).toBe(4000);
    });

    it('refuses a second owner of a port and a second lease of a service', async () => {
      const r = await registryIn();
      await r.transaction((tx) => tx.insert(lease()));
      await expect(r.transaction((tx) => tx.insert(lease({ service: 'other' })))).rejects.toMatchObject({
        code: 'E_PORT_HELD',
      });
      await expect(r.transaction((tx) => tx.insert(lease({ port: 4002 })))).rejects.toMatchObject({
        code: 'E_PORT_HELD',
      });
      expect(r.allLeases()).toHaveLength(1);
    });

    it('a failing transaction changes nothing', async () => {
      const r = await registryIn();
      await expect(
        r.transaction((tx) => {
          tx.insert(lease());
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(r.allLeases()).toEqual([]);
      expect(r.history({ dir: '/w/shop', environment: 'development' }).size).toBe(0);
    });

    it('returns expired leases and keeps an ordered event log', async () => {
      const r = await registryIn();
      expect(r.lastEventId()).toBe(0);
      await r.transaction((tx) => {
        tx.insert(lease({ expiresAt: 100 }));
        tx.insert(lease({ port: 4001, service: 'b', expiresAt: 500 }));
        for (const type of ['assigned', 'released'] as const) {
          tx.recordEvent({
            at: 1,
            type,
            project: 'shop',
            dir: '/w/shop',
            environment: 'development',
            service: 'server',
            port: 4000,
            fromPort: null,
            detail: '',
          });
        }
      });
      expect((await r.transaction((tx) => tx.expired(200))).map((l) => l.port)).toEqual([4000]);
      const events = r.eventsSince(0, 10);
      expect(events.map((e) => e.type)).toEqual(['assigned', 'released']);
      expect(events[1]!.id).toBeGreaterThan(events[0]!.id);
      expect(r.eventsSince(events[0]!.id, 10).map((e) => e.type)).toEqual(['released']);
      expect(r.eventsSince(0, 1)).toHaveLength(1);
      expect(r.lastEventId()).toBe(events[1]!.id);
    });

    it('lists every lease in project, folder, environment and port order', async () => {
      const r = await registryIn();
      await r.transaction((tx) => {
        tx.insert(lease({ port: 4003, project: 'b', dir: '/w/b', service: 's' }));
        tx.insert(lease({ port: 4001, project: 'a', dir: '/w/a', service: 'y' }));
        tx.insert(lease({ port: 4000, project: 'a', dir: '/w/a', service: 'x', environment: 'test' }));
        tx.insert(
          lease({ port: 4002, kind: 'adhoc', project: '', dir: '', environment: '', service: 'getPort' }),
        );
      });
      expect(r.allLeases().map((l) => l.port)).toEqual([4002, 4001, 4000, 4003]);
    });

    it('runs the concurrent transactions of a process in one batch; one that fails changes nothing of its own', async () => {
      const r = await registryIn();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          r.transaction((tx) => {
            tx.insert(lease({ port: 5000 + i, service: `s${i}` }));
            // The 7th also tries a port the 3rd holds: refused, and its own insert is undone.
            if (i === 7) tx.insert(lease({ port: 5003, service: 'dup' }));
            return tx.batch;
          }),
        ),
      );
      expect(results.map((x) => x.status).filter((x) => x === 'rejected')).toHaveLength(1);
      expect((results[7] as PromiseRejectedResult).reason).toMatchObject({ code: 'E_PORT_HELD' });
      // Grouped: far fewer batches than requests (the time budget may split one on a loaded machine).
      const batches = new Set(results.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : [])));
      expect(batches.size).toBeLessThanOrEqual(5);
      const ports = r.allLeases().map((l) => l.port);
      expect(ports).toHaveLength(19);
      expect(ports).not.toContain(5007);
    });

    it('runs the batch hook once per batch, before the requests', async () => {
      const seen: string[] = [];
      const r = await registryIn({ beforeBatch: (tx) => seen.push(`hook ${tx.batch}`) });
      // The batch number is an opaque token: compare each job's with its batch's hook.
      await Promise.all([1, 2, 3].map((i) => r.transaction((tx) => seen.push(`job ${i} ${tx.batch}`))));
      await r.transaction((tx) => seen.push(`job 4 ${tx.batch}`));
      const [first, second] = seen.filter((s) => s.startsWith('hook')).map((s) => s.slice(5));
      expect(seen).toEqual([
        `hook ${first}`,
        `job 1 ${first}`,
        `job 2 ${first}`,
        `job 3 ${first}`,
        `hook ${second}`,
        `job 4 ${second}`,
      ]);
      expect(second).not.toBe(first);
    });

    it('keeps the owners right through inserts, owner changes and removals', async () => {
      const r = await registryIn();
      const a = { pid: 101, startTime: '7' };
      const b = { pid: 202, startTime: null };
      await r.transaction((tx) => {
        tx.insert(lease({ port: 6001, service: 'a1', owner: a, createdAt: 5 }));
        tx.insert(lease({ port: 6002, service: 'a2', owner: a, createdAt: 9 }));
        const x = tx.insert(lease({ port: 6003, service: 'x', owner: null }));
        tx.setOwner(x.id, b, null);
      });
      const owners = (): string[] =>
        r
          .owners()
          .map((o) => `${o.pid}/${o.startTime}/${o.since}`)
          .sort();
      expect(owners()).toEqual(['101/7/5', `202/null/1`]);
      await r.transaction((tx) => {
        expect(tx.removeOwnedBy(a, 'reclaimed').map((l) => l.port)).toEqual([6001, 6002]);
      });
      expect(owners()).toEqual(['202/null/1']);
      await r.transaction((tx) => tx.setOwner(r.allLeases()[0]!.id, null, null));
      expect(owners()).toEqual([]);
    });
  });
}
