/**
 * berth on a three-member etcd: racing processes on two hosts, the leader killed in the
 * middle of the race, an owner killed, and a cluster that loses its quorum and gets it
 * back. Each test uses its own key prefix on one cluster.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/adapters/process/table.js';
import { type EtcdRegistry, openEtcdRegistry } from '../../src/adapters/registry/etcd/registry.js';
import { ETCD_TIMEOUT_MS, PROCESS_LEASE_TTL_S } from '../../src/adapters/registry/etcd/session.js';
import { Reclaimer } from '../../src/compose/reclaim.js';
import { parseRegistryUrl } from '../../src/core/registry-url.js';
import { lease } from '../contract/registry.js';
import { type Cluster, startCluster } from './cluster.js';
import { type Answer, fleet } from './fleet.js';

let cluster: Cluster;
const opened: EtcdRegistry[] = [];
let workers: ReturnType<typeof fleet> | null = null;

beforeAll(async () => {
  cluster = await startCluster(3);
}, 60_000);

afterEach(async () => {
  for (const r of opened.splice(0)) r.close();
  await workers?.stopAll();
  workers = null;
  // Every member runs again for the next test.
  for (const m of cluster.members) await cluster.start(m);
});

afterAll(async () => {
  await cluster?.destroy();
});

/** A registry of `host` under `prefix`, in this process, with the reclaimer as its batch hook. */
async function openFor(host: string, prefix: string): Promise<EtcdRegistry> {
  const choice = parseRegistryUrl(cluster.url(prefix));
  if (choice.kind !== 'etcd') throw new Error('not etcd');
  const reclaimer = new Reclaimer(createProcessTable(), Date.now);
  const registry = await openEtcdRegistry({
    url: choice.url,
    endpoints: choice.endpoints,
    prefix: choice.prefix,
    host,
    address: '127.0.0.1',
    beforeBatch: (tx) => void reclaimer.reclaim(tx),
  });
  opened.push(registry);
  return registry;
}

/**
 * 2 hosts x 8 processes: started, then each asked for `calls` ports at once; `during` runs
 * meanwhile. `warm`: the processes open the registry first, so the race is the getPort()
 * calls alone; cold, the race includes each process's connect and load, as a test run's.
 */
async function race(prefix: string, calls: number, during?: () => Promise<void>, warm = true) {
  workers = fleet(cluster.url(prefix));
  const team = [];
  for (const host of ['a', 'b']) for (let i = 0; i < 8; i++) team.push(await workers.start(host));
  if (warm) await Promise.all(team.map((w) => w.warm()));
  const go = performance.now();
  const answers = team.map((w) => w.go(calls).then((answer) => ({ host: w.host, ...answer })));
  await during?.();
  const all = await Promise.all(answers);
  return Object.assign(all, { ms: performance.now() - go });
}

function tally(answers: (Answer & { host: string })[]) {
  const byHost = new Map<string, number[]>();
  for (const a of answers) byHost.set(a.host, [...(byHost.get(a.host) ?? []), ...a.ports]);
  const errors = answers.flatMap((a) => a.errors);
  return {
    errors,
    perHost: [...byHost].map(([host, ports]) => ({
      host,
      ports: ports.length,
      distinct: new Set(ports).size,
    })),
  };
}

describe('three members', () => {
  it('two hosts x 8 processes x 25 concurrent getPort(): 200 distinct ports per host, no error', async () => {
    const answers = await race('race', 25);
    process.stdout.write(
      `three members: 2 hosts x 8 processes x 25 calls took ${answers.ms.toFixed(0)} ms\n`,
    );
    const { errors, perHost } = tally(answers);
    expect(errors).toEqual([]);
    expect(perHost).toEqual([
      { host: 'a', ports: 200, distinct: 200 },
      { host: 'b', ports: 200, distinct: 200 },
    ]);
    // The registry agrees: each host holds its 200 (plus the zero-config reserve) and nobody else's.
    const a = await openFor('a', 'race');
    const held = new Set(a.allLeases().map((l) => l.port));
    for (const port of answers.filter((x) => x.host === 'a').flatMap((x) => x.ports)) {
      expect(held.has(port)).toBe(true);
    }
  }, 120_000);

  it('the leader SIGKILLed 300 ms into a race of cold processes: every call answered, no duplicate, no error', async () => {
    const leader = await cluster.leader();
    let killedAt = 0;
    const answers = await race(
      'leader-kill',
      25,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        killedAt = performance.now();
        await cluster.stop(leader, 'SIGKILL');
      },
      false,
    );
    process.stdout.write(
      `three members: 400 calls with the leader killed 300 ms in took ${answers.ms.toFixed(0)} ms\n`,
    );
    // In the middle: calls were still being answered after the kill.
    expect(answers.ms).toBeGreaterThan(300);
    expect(killedAt).toBeGreaterThan(0);
    const { errors, perHost } = tally(answers);
    expect(errors).toEqual([]);
    expect(perHost).toEqual([
      { host: 'a', ports: 200, distinct: 200 },
      { host: 'b', ports: 200, distinct: 200 },
    ]);
  }, 120_000);

  it('an owner SIGKILLed on host a: host b sees its ports free when its etcd lease expires, host a at once', async () => {
    workers = fleet(cluster.url('owner-kill'));
    const first = await workers.start('a');
    const { ports: firstPorts } = await first.go(3);
    expect(firstPorts).toHaveLength(3);
    const b = await openFor('b', 'owner-kill');
    const onA = async () => new Set((await b.directory.hostLeases('a')).map((l) => l.port));
    expect([...(await onA())]).toEqual(expect.arrayContaining(firstPorts));
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    // Seen from host b, the ports stay until the etcd lease expires (nothing on host a reclaims
    // them): they go no sooner than the TTL less one keep-alive interval (the last keep-alive
    // may have come that long before the kill), and no later than the TTL with slack.
    for (;;) {
      const left = await onA();
      if (firstPorts.every((p) => !left.has(p))) break;
      expect(Date.now() - killedAt).toBeLessThan((PROCESS_LEASE_TTL_S + 10) * 1000);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(((PROCESS_LEASE_TTL_S * 2) / 3 - 1) * 1000);
    // On host a, a dead owner's ports come back at once: the next batch reclaims them by pid.
    const second = await workers.start('a');
    const { ports: secondPorts, pid } = await second.go(3);
    // Reaped, not a zombie: a zombie still counts as alive (as it does for the SQLite registry).
    const exited = new Promise((resolve) => second.child.once('exit', resolve));
    second.child.kill('SIGKILL');
    await exited;
    const started = Date.now();
    const a = await openFor('a', 'owner-kill');
    expect(a.leasesOwnedBy(pid).map((l) => l.port)).toEqual(expect.arrayContaining(secondPorts));
    const reclaimed = await a.transaction((tx) => tx.leasesOwnedBy(pid).length);
    expect(reclaimed).toBe(0);
    expect(a.leasesOwnedBy(pid)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(PROCESS_LEASE_TTL_S * 1000);
  }, 60_000);

  it('two of three members stopped: E_REGISTRY within the timeout, nothing changed; members back: work resumes', async () => {
    const r = await openFor('c', 'quorum');
    await r.transaction((tx) => tx.insert(lease({ port: 4100, service: 'kept' })));
    const before = r.allLeases();
    const [m0, m1] = cluster.members;
    await cluster.stop(m0!);
    await cluster.stop(m1!);
    const started = Date.now();
    const error = await r
      .transaction((tx) => tx.insert(lease({ port: 4101, service: 'lost' })))
      .catch((e) => e);
    const took = Date.now() - started;
    expect(error).toMatchObject({ code: 'E_REGISTRY' });
    expect((error as Error).message).toContain('127.0.0.1:');
    expect((error as Error).message).toMatch(/majority of the members/);
    expect(took).toBeLessThan(ETCD_TIMEOUT_MS + 3_000);
    expect(r.allLeases()).toEqual(before);
    await cluster.start(m0!);
    await cluster.start(m1!);
    // The same registry object: no restart of berth.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const done = await r
        .transaction((tx) => tx.insert(lease({ port: 4102, service: 'later' })))
        .then(
          () => true,
          (e: unknown) => {
            if (Date.now() > deadline) throw e;
            return false;
          },
        );
      if (done) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The commit that timed out was proposed to the member left: raft may still apply it once
    // the quorum is back. Whole or not at all: its lease comes with its history, or neither.
    const ports = r.allLeases().map((l) => l.port);
    expect(ports).toEqual(expect.arrayContaining([4100, 4102]));
    const lost = r.history({ dir: '/w/shop', environment: 'development' }).has('lost');
    expect(ports.includes(4101)).toBe(lost);
    const other = await openFor('c', 'quorum');
    expect(other.allLeases().map((l) => l.port)).toEqual(ports);
  }, 90_000);
});
