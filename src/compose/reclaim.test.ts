import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry } from '../adapters/registry/sqlite.js';
import type { ProcessTable } from '../core/facts.js';
import type { NewLease, Registry } from '../core/registry.js';
import type { LeaseOwner } from '../core/types.js';
import {
  OWNER_CHECKS_PER_BATCH,
  OWNER_TRUST_MS,
  OWNER_VERIFY_MS,
  Reclaimer,
  reclaimBlockers,
} from './reclaim.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function registry(): Registry {
  const home = mkdtempSync(join(tmpdir(), 'berth-reclaim-'));
  const r = openRegistry({ home });
  cleanup.push(() => {
    r.close();
    rmSync(home, { recursive: true, force: true });
  });
  return r;
}

/** A process table of fakes: `alive` decides isAlive, `pids` what kill(pid, 0) sees; calls are counted. */
function fakeProcesses(self: LeaseOwner, alive: Set<string>, pids: Set<number>) {
  const calls = { isAlive: 0, exists: 0 };
  const table: ProcessTable = {
    self: () => self,
    owner: () => null,
    isAlive: (o) => {
      calls.isAlive++;
      return alive.has(`${o.pid}:${o.startTime}`);
    },
    exists: (pid) => {
      calls.exists++;
      return pids.has(pid);
    },
  };
  return { table, calls };
}

const lease = (port: number, owner: LeaseOwner | null, over: Partial<NewLease> = {}): NewLease => ({
  port,
  kind: 'service',
  project: 'shop',
  dir: '/w/shop',
  environment: 'development',
  service: `s${port}`,
  inheritsFrom: null,
  owner,
  createdAt: 0,
  expiresAt: null,
  scheme: 'http',
  ...over,
});

describe('Reclaimer', () => {
  it('takes back the leases of dead owners and expired leases, with an event per service lease', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    const live = { pid: 2, startTime: 'a' };
    const dead = { pid: 3, startTime: 'b' };
    await r.transaction((tx) => {
      tx.insert(lease(7001, live));
      tx.insert(lease(7002, dead));
      tx.insert(lease(7003, dead, { kind: 'adhoc', service: 'getPort' }));
      tx.insert(lease(7004, null, { expiresAt: 50 }));
      tx.insert(lease(7005, null));
      tx.insert(lease(7006, self));
    });
    const now = OWNER_TRUST_MS + 100; // every owner is old enough to be verified fully
    const { table } = fakeProcesses(self, new Set(['2:a']), new Set([1, 2]));
    const reclaimer = new Reclaimer(table, () => now);
    const taken = await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(taken.map((t) => `${t.lease.port} ${t.reason}`).sort()).toEqual([
      '7002 owner-dead',
      '7003 owner-dead',
      '7004 expired',
    ]);
    expect(r.allLeases().map((l) => l.port)).toEqual([7001, 7005, 7006]);
    const events = r.eventsSince(0, 10).map((e) => `${e.type} ${e.port} ${e.detail}`);
    expect(events).toEqual(['reclaimed 7002 owner pid 3 died', 'reclaimed 7004 lease expired']);
  });

  it('in a bounded transaction (etcd), takes what fits and the rest on the next run, each lease once', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    const dead = [
      { pid: 3, startTime: 'b' },
      { pid: 4, startTime: 'c' },
    ];
    await r.transaction((tx) => {
      for (let i = 0; i < 25; i++) tx.insert(lease(7200 + i, dead[i % 2]!, { createdAt: 0 }));
      for (let i = 0; i < 5; i++) tx.insert(lease(7300 + i, null, { expiresAt: 1 }));
      tx.insert(lease(7400, self));
    });
    const { table } = fakeProcesses(self, new Set(), new Set([1]));
    const reclaimer = new Reclaimer(table, () => OWNER_TRUST_MS + 100);
    const runs: number[] = [];
    for (let run = 0; run < 20; run++) {
      const taken = await r.transaction((tx) => {
        let removed = 0;
        // A transaction that holds 4 removals: full once 4 are in.
        const bounded = Object.assign(Object.create(tx), {
          remove: (id: number, reason: 'released' | 'reclaimed') => {
            removed++;
            tx.remove(id, reason);
          },
          full: () => removed >= 4,
        });
        return reclaimer.reclaim(bounded);
      });
      runs.push(taken.length);
      if (taken.length === 0) break;
    }
    expect(Math.max(...runs)).toBe(4);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(30);
    expect(r.allLeases().map((l) => l.port)).toEqual([7400]);
    const reclaimed = r.eventsSince(0, 100).filter((e) => e.type === 'reclaimed');
    expect(reclaimed).toHaveLength(30);
    expect(new Set(reclaimed.map((e) => e.port)).size).toBe(30);
  });

  it('a lease of this pid with another start time belongs to an earlier process: reclaimed', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 'now' };
    await r.transaction((tx) => tx.insert(lease(7101, { pid: 1, startTime: 'earlier' }, { createdAt: 0 })));
    const { table } = fakeProcesses(self, new Set(), new Set([1]));
    await r.transaction((tx) => new Reclaimer(table, () => 10).reclaim(tx));
    expect(r.allLeases()).toEqual([]);
  });

  it('checks young and recently verified owners with kill(pid, 0) only', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    await r.transaction((tx) => {
      tx.insert(lease(7201, { pid: 2, startTime: 'a' }, { createdAt: 0 }));
      tx.insert(lease(7202, { pid: 3, startTime: 'b' }, { createdAt: 0 }));
    });
    let now = 1_000; // both owners younger than OWNER_TRUST_MS
    const { table, calls } = fakeProcesses(self, new Set(['2:a', '3:b']), new Set([1, 2, 3]));
    const reclaimer = new Reclaimer(table, () => now);
    await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls).toEqual({ isAlive: 0, exists: 2 });
    now = OWNER_TRUST_MS + 1; // old now: verified once in full, then trusted for OWNER_VERIFY_MS
    await r.transaction((tx) => reclaimer.reclaim(tx));
    await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls).toEqual({ isAlive: 2, exists: 4 });
    now += OWNER_VERIFY_MS;
    await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls.isAlive).toBe(4);
    expect(r.allLeases()).toHaveLength(2);
  });

  it('checks at most OWNER_CHECKS_PER_BATCH owners in full a batch, the others in later batches; a gone pid at once', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    const many = OWNER_CHECKS_PER_BATCH * 2 + 3;
    const owners = Array.from({ length: many }, (_, i) => ({ pid: 100 + i, startTime: 'a' }));
    const zombie = owners[many - 2]!; // its pid answers kill(pid, 0), the full check finds it exited
    const gone = owners[many - 1]!; // its pid is gone: reclaimed by the first batch, budget or not
    await r.transaction((tx) => {
      for (const [i, owner] of owners.entries()) tx.insert(lease(7400 + i, owner, { createdAt: 0 }));
    });
    const alive = new Set(owners.filter((o) => o !== zombie && o !== gone).map((o) => `${o.pid}:a`));
    const pids = new Set([1, ...owners.filter((o) => o !== gone).map((o) => o.pid)]);
    const { table, calls } = fakeProcesses(self, alive, pids);
    const now = OWNER_TRUST_MS + 1; // every owner is old: due for a full check
    const reclaimer = new Reclaimer(table, () => now);
    const ports = () => r.allLeases().map((l) => l.port);

    const first = await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls.isAlive).toBe(OWNER_CHECKS_PER_BATCH);
    expect(first.map((t) => t.lease.owner?.pid)).toEqual([gone.pid]);
    expect(ports()).toContain(7400 + many - 2);

    await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls.isAlive).toBe(2 * OWNER_CHECKS_PER_BATCH);
    expect(ports()).toContain(7400 + many - 2);
    // The third batch reaches the rest, the zombie among them.
    const third = await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls.isAlive).toBe(many - 1);
    expect(third.map((t) => t.lease.owner?.pid)).toEqual([zombie.pid]);
    expect(ports()).toHaveLength(many - 2);
    // Everyone left was verified: the next batch trusts them on kill(pid, 0).
    await r.transaction((tx) => reclaimer.reclaim(tx));
    expect(calls.isAlive).toBe(many - 1);
  });

  it('however far apart the batches come, every owner gets its full check in turn: the longest unchecked first', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    const owners = Array.from({ length: OWNER_CHECKS_PER_BATCH + 4 }, (_, i) => ({
      pid: 200 + i,
      startTime: 'a',
    }));
    const zombie = owners[owners.length - 1]!;
    await r.transaction((tx) => {
      for (const [i, owner] of owners.entries()) tx.insert(lease(7500 + i, owner, { createdAt: 0 }));
    });
    const alive = new Set(owners.filter((o) => o !== zombie).map((o) => `${o.pid}:a`));
    const { table } = fakeProcesses(self, alive, new Set([1, ...owners.map((o) => o.pid)]));
    let now = OWNER_TRUST_MS + 1;
    const reclaimer = new Reclaimer(table, () => now);
    const reclaimed: (number | undefined)[] = [];
    // Each batch comes after the last one's verifications expired: every owner is due again each time.
    for (let batch = 0; batch < 3; batch++) {
      const taken = await r.transaction((tx) => reclaimer.reclaim(tx));
      reclaimed.push(...taken.map((t) => t.lease.owner?.pid));
      now += OWNER_VERIFY_MS + 1;
    }
    expect(reclaimed).toEqual([zombie.pid]);
  });

  it('a young owner whose pid is gone is reclaimed at once', async () => {
    const r = registry();
    await r.transaction((tx) => tx.insert(lease(7301, { pid: 9, startTime: 'x' }, { createdAt: 0 })));
    const { table } = fakeProcesses({ pid: 1, startTime: 's' }, new Set(), new Set([1]));
    await r.transaction((tx) => new Reclaimer(table, () => 5).reclaim(tx));
    expect(r.allLeases()).toEqual([]);
  });
});

describe('reclaimBlockers', () => {
  it('checks each distinct owner in the way in full, even a young one, and reclaims the dead ones whole', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    const zombie = { pid: 2, startTime: 'a' }; // kill(pid, 0) still finds it
    const live = { pid: 3, startTime: 'b' };
    await r.transaction((tx) => {
      tx.insert(lease(7401, zombie, { createdAt: 0 }));
      tx.insert(lease(7402, zombie, { createdAt: 0 }));
      tx.insert(lease(7403, live, { createdAt: 0 }));
      tx.insert(lease(7404, self, { createdAt: 0 }));
      tx.insert(lease(7405, null));
      tx.insert(lease(7406, zombie, { createdAt: 0, kind: 'adhoc', service: 'getPort' }));
    });
    const { table, calls } = fakeProcesses(self, new Set(['3:b']), new Set([1, 2, 3]));
    // Young owners: the batch's sweep keeps them on kill(pid, 0).
    await r.transaction((tx) => new Reclaimer(table, () => 1_000).reclaim(tx));
    expect(r.allLeases()).toHaveLength(6);
    const inTheWay = r.leasesInRange(7401, 7405);
    const removed = await r.transaction((tx) => reclaimBlockers(tx, inTheWay, table, 1_000));
    expect(removed).toBe(true);
    // One full check per owner in the way (zombie and live); self and ownerless leases are not checked.
    expect(calls.isAlive).toBe(2);
    // Every lease of the dead owner goes, also the one not in the way; one event per service lease.
    expect(r.allLeases().map((l) => l.port)).toEqual([7403, 7404, 7405]);
    expect(r.eventsSince(0, 10).map((e) => [e.type, e.port])).toEqual([
      ['reclaimed', 7401],
      ['reclaimed', 7402],
    ]);
    expect(await r.transaction((tx) => reclaimBlockers(tx, r.leasesInRange(7403, 7405), table, 1_000))).toBe(
      false,
    );
  });

  it('skips owners the transaction already found alive, and remembers the ones it finds alive', async () => {
    const r = registry();
    const self = { pid: 1, startTime: 's' };
    const live = { pid: 3, startTime: 'b' };
    const dead = { pid: 4, startTime: 'c' };
    await r.transaction((tx) => {
      tx.insert(lease(7411, live, { createdAt: 0 }));
      tx.insert(lease(7412, dead, { createdAt: 0 }));
    });
    const { table, calls } = fakeProcesses(self, new Set(['3:b']), new Set([1, 3, 4]));
    const alive = new Set<string>();
    await r.transaction((tx) => {
      reclaimBlockers(tx, tx.leasesInRange(7411, 7411), table, 1_000, alive);
      reclaimBlockers(tx, tx.leasesInRange(7411, 7411), table, 1_000, alive);
      // A dead owner is never remembered as alive: found dead, its leases go at once.
      expect(reclaimBlockers(tx, tx.leasesInRange(7412, 7412), table, 1_000, alive)).toBe(true);
    });
    expect(calls.isAlive).toBe(2);
    expect([...alive]).toEqual(['3:b']);
    expect(r.allLeases().map((l) => l.port)).toEqual([7411]);
  });
});
