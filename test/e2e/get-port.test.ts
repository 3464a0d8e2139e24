import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { readEphemeralRange } from '../../src/adapters/net/ephemeral.js';
import { createProcessTable } from '../../src/adapters/process/table.js';
import { lockQueueDir, openRegistry } from '../../src/adapters/registry/sqlite.js';
import {
  BURST_TOP_UP_DELAY_MS,
  closeGetPort,
  getPort,
  getPortContext,
  RESERVE_BATCH,
  RESERVE_LOW,
  RESERVE_MAX,
  releasePort,
} from '../../src/compose/get-port.js';
import { createPortManager } from '../../src/compose/manager.js';
import type { Registry } from '../../src/core/registry.js';
import { isBerthError } from '../../src/errors.js';
import { close, listen, ROOT, reserveBlock, waitFor } from '../helpers.js';

const LIB = join(ROOT, 'dist/index.js');
const homes: string[] = [];
const children: ChildProcess[] = [];

function home() {
  const h = mkdtempSync(join(tmpdir(), 'berth-getport-'));
  homes.push(h);
  return h;
}

const registries: Registry[] = [];
const connections: Database.Database[] = [];

afterEach(async () => {
  await closeGetPort();
  for (const r of registries.splice(0)) r.close();
  for (const c of connections.splice(0)) {
    if (c.inTransaction) c.exec('ROLLBACK');
    c.close();
  }
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

/**
 * The registry in `h`, opened beside getPort's (closed after the test, with getPort's),
 * and the ports this process holds there (handed out or spare).
 */
function registryIn(h: string) {
  const registry = openRegistry({ home: h });
  registries.push(registry);
  return { registry, owned: () => registry.leasesOwnedBy(process.pid).map((l) => l.port) };
}

/**
 * A second connection to the registry in `h`, as another process's (rolled back if still
 * in a transaction, and closed, after the test).
 */
function otherConnection(h: string): Database.Database {
  const other = new Database(join(h, 'registry.db'));
  connections.push(other);
  return other;
}

/**
 * Makes `calls` while another connection holds the registry's write lock (so they queue),
 * then has that connection lease `port` for a live child process and commit: what the
 * process of a burst that got the port first does. The registry in `h` must exist.
 */
async function whileAnotherLeases(
  h: string,
  port: number,
  calls: () => Promise<number>[],
): Promise<number[]> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  const owner = createProcessTable().owner(child.pid!)!;
  const queue = lockQueueDir(join(h, 'registry.db'));
  const other = otherConnection(h);
  other.exec('BEGIN IMMEDIATE');
  const pending = Promise.all(calls());
  await waitFor(() => existsSync(queue) && readdirSync(queue).length > 0, {
    timeoutMs: 10_000,
    what: 'a ticket in the lock queue',
  });
  other
    .prepare(
      `INSERT INTO leases (port, kind, project, dir, environment, service, pid, pid_start, created_at)
       VALUES (?, 'adhoc', '', '', '', 'getPort', ?, ?, ?)`,
    )
    .run(port, owner.pid, owner.startTime, Date.now());
  other.exec('COMMIT');
  return await pending;
}

describe('getPort across processes', () => {
  it('16 processes calling getPort() 50 times each at once receive 800 distinct ports, each bindable when returned', async () => {
    const h = home();
    const worker = `
      import { getPort } from ${JSON.stringify(LIB)};
      import { createServer } from 'node:net';
      const bind = (port) => new Promise((resolve) => {
        const s = createServer();
        s.once('error', (e) => resolve(e.code));
        s.listen({ port, host: '::', exclusive: true }, () => s.close(() => resolve('ok')));
      });
      const out = [];
      for (let i = 0; i < 50; i++) { const port = await getPort(); out.push([port, await bind(port)]); }
      console.log(JSON.stringify(out));
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));`;
    // Workers keep their leases until every worker has reported, so all 800 are live at once.
    const workers = Array.from({ length: 16 }, () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', worker], {
        env: { ...process.env, BERTH_HOME: h },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      return child;
    });
    const results = await Promise.all(
      workers.map(
        (child) =>
          new Promise<string>((resolve, reject) => {
            child.once('exit', (code) => reject(new Error(`worker exited early with code ${code}`)));
            let out = '';
            child.stdout!.on('data', (d) => {
              out += d;
              if (out.endsWith('\n')) resolve(out);
            });
          }),
      ),
    );
    const exited = workers.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of workers) child.stdin!.end();
    await Promise.all(exited);
    const all = results.flatMap((r) => JSON.parse(r) as [number, string][]);
    expect(all).toHaveLength(800);
    expect(new Set(all.map(([p]) => p)).size).toBe(800);
    expect(all.filter(([, bound]) => bound !== 'ok')).toEqual([]);
    const ephemeral = readEphemeralRange();
    for (const [port] of all) {
      expect(port).toBeGreaterThanOrEqual(20000);
      expect(port).toBeLessThanOrEqual(29999);
      // Never in the kernel's live ephemeral range, where outgoing connections take ports.
      if (ephemeral) expect(port < ephemeral.min || port > ephemeral.max).toBe(true);
    }
    // Every worker exited: whatever their exit handlers could not release in time, the next
    // allocation reclaims, so only this process's new lease remains.
    const next = await getPort({ home: h });
    const registry = openRegistry({ home: h });
    expect(registry.allLeases().map((l) => l.owner?.pid)).toEqual(
      registry.allLeases().map(() => process.pid),
    );
    expect(registry.allLeases().map((l) => l.port)).toContain(next);
    registry.close();
    await releasePort(next, { home: h });
  });

  it('a lease whose owner is killed with SIGKILL is reclaimed by the next allocation', async () => {
    const h = home();
    const [port] = await reserveBlock(1);
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { getPort } from ${JSON.stringify(LIB)};
         const p = await getPort({ port: ${port}, range: [${port}, ${port}] });
         console.log(p); setInterval(() => {}, 1000);`,
      ],
      { env: { ...process.env, BERTH_HOME: h }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const got = await new Promise<string>((resolve) =>
      child.stdout!.once('data', (d) => resolve(String(d).trim())),
    );
    expect(Number(got)).toBe(port);
    // While the owner lives, the port is not handed out again.
    await expect(getPort({ port: port!, range: [port!, port!], home: h })).rejects.toMatchObject({
      code: 'E_NO_PORT',
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await getPort({ port: port!, range: [port!, port!], home: h })).toBe(port);
    const registry = openRegistry({ home: h });
    expect(registry.allLeases().map((l) => l.owner?.pid)).toEqual([process.pid]);
    registry.close();
    await releasePort(port!, { home: h });
  });

  it('a reused pid (same pid, other start time) does not keep a lease alive', async () => {
    const h = home();
    const [port] = await reserveBlock(1);
    const registry = openRegistry({ home: h });
    const self = createProcessTable().self();
    await registry.transaction((tx) =>
      tx.insert({
        port: port!,
        kind: 'adhoc',
        project: '',
        dir: '',
        environment: '',
        service: 'getPort',
        inheritsFrom: null,
        owner: { pid: self.pid, startTime: `${self.startTime}-earlier-process` },
        createdAt: Date.now(),
        expiresAt: null,
        scheme: null,
      }),
    );
    registry.close();
    expect(await getPort({ port: port!, range: [port!, port!], home: h })).toBe(port);
    await releasePort(port!, { home: h });
  });

  it('honours preferred ports, ranges and exclude, and never leaves a full range', async () => {
    const h = home();
    const block = await reserveBlock(3);
    const [a, b, c] = block as [number, number, number];
    expect(await getPort({ port: [b], range: [a, c], home: h })).toBe(b);
    expect(await getPort({ range: [a, c], exclude: [a], home: h })).toBe(c);
    const holder = await listen(a, '::1');
    try {
      const error = await getPort({ range: [a, c], home: h }).catch((e: unknown) => e);
      expect(isBerthError(error, 'E_NO_PORT')).toBe(true);
    } finally {
      await close(holder);
    }
    expect(await releasePort(b, { home: h })).toBe(true);
    expect(await releasePort(b, { home: h })).toBe(false);
    await releasePort(c, { home: h });
  });

  it.runIf(readEphemeralRange() !== null)(
    'a range the user names inside the ephemeral range is served',
    async () => {
      const h = home();
      const eph = readEphemeralRange()!;
      const range: [number, number] = [eph.min + 7800, eph.min + 8699];
      const port = await getPort({ range, home: h });
      expect(port).toBeGreaterThanOrEqual(range[0]);
      expect(port).toBeLessThanOrEqual(range[1]);
      await releasePort(port, { home: h });
    },
  );

  it('E_NO_PORT counts what stood in the way: leased, held by another process, excluded', async () => {
    const h = home();
    const [a, b, c] = (await reserveBlock(3)) as [number, number, number];
    const holder = await listen(a, '127.0.0.1');
    const leased = await getPort({ port: b, range: [b, b], home: h });
    try {
      const error = await getPort({ range: [a, c], exclude: [c], home: h }).catch((e: unknown) => e);
      expect(isBerthError(error, 'E_NO_PORT')).toBe(true);
      expect((error as Error).message).toBe(
        `no free port in range ${a}-${c}: 1 leased by berth, 1 held by other processes, 1 excluded. Widen the range, or release ports (berth ls --all-projects).`,
      );
    } finally {
      await close(holder);
      await releasePort(leased, { home: h });
    }
  });

  it('zero-config calls lease a batch ahead in one transaction and hand it out port by port', async () => {
    const h = home();
    const first = await getPort({ home: h });
    const { owned } = registryIn(h);
    const batch = owned();
    // One transaction leased a batch (a port of it a bind found busy is given back).
    expect(batch.length).toBeGreaterThan(1);
    expect(batch.length).toBeLessThanOrEqual(RESERVE_BATCH);
    expect(batch).toContain(first);
    // The rest of the batch, in the order it was leased.
    const next = await Promise.all(batch.slice(1).map(() => getPort({ home: h })));
    expect([first, ...next].sort()).toEqual([...batch].sort());
    // With the batch used up, the next call has a port of the next batch.
    const after = await getPort({ home: h });
    expect(batch).not.toContain(after);
    for (const p of owned()) expect(await releasePort(p, { home: h })).toBe(true);
    // A released reserve port is never handed out without its lease.
    const fresh = await getPort({ home: h });
    expect(owned()).toContain(fresh);
  });

  it('a caller that lets the event loop turn between calls never waits for a commit: the reserve is topped up while idle', async () => {
    const h = home();
    const { owned } = registryIn(h);
    const handed = new Set<number>();
    handed.add(await getPort({ home: h }));
    for (let i = 0; i < 3 * RESERVE_BATCH; i++) {
      // Idle: the loop turns until the reserve holds more than its low mark again.
      const deadline = Date.now() + 10_000;
      while (owned().length - handed.size <= RESERVE_LOW && Date.now() < deadline) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      const before = owned();
      expect(before.length - handed.size).toBeGreaterThan(RESERVE_LOW);
      const port = await getPort({ home: h });
      // Leased before the call began: the call itself wrote nothing.
      expect(before).toContain(port);
      expect(handed.has(port)).toBe(false);
      handed.add(port);
    }
    // Never more than a batch past the low mark ahead.
    expect(owned().length - handed.size).toBeLessThanOrEqual(RESERVE_BATCH + RESERVE_LOW);
    // Released with the rest: a top-up due when closeGetPort runs leases nothing.
    const spare = owned().length - handed.size;
    await Promise.all(Array.from({ length: spare - RESERVE_LOW }, () => getPort({ home: h })));
    await closeGetPort();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(owned()).toEqual([]);
  });

  it('a top-up never waits for the lock: a call in flight at closeGetPort leases nothing after it, and a script that is done exits while another process holds the lock', async () => {
    const h = home();
    // Another process holds the write lock until its stdin closes.
    const holdLock = async () => {
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(join(h, 'registry.db'))});
           d.exec('BEGIN IMMEDIATE'); console.log('locked');
           process.stdin.on('end', () => { d.exec('COMMIT'); process.exit(0); }); process.stdin.resume();`,
        ],
        { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      children.push(holder);
      await once(holder.stdout!, 'data');
      return holder;
    };
    const { registry } = registryIn(h);
    // 1. Five calls leave 3 in the reserve; the lock is taken; the sixth call (3 -> 2) is in
    // flight when closeGetPort starts, which waits for the lock to release.
    for (let i = 0; i < RESERVE_BATCH - RESERVE_LOW - 1; i++) await getPort({ home: h });
    const holder = await holdLock();
    const inFlight = getPort({ home: h });
    const closing = closeGetPort();
    await inFlight;
    const holderGone = once(holder, 'exit');
    holder.stdin!.end();
    await closing;
    await holderGone;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(registry.leasesOwnedBy(process.pid)).toEqual([]);

    // 2. A script whose last call arms a top-up while the lock is taken exits at once.
    const go = join(h, 'go');
    const script = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { existsSync } from 'node:fs';
         import { getPort } from ${JSON.stringify(LIB)};
         for (let i = 0; i < ${RESERVE_BATCH - RESERVE_LOW - 1}; i++) await getPort();
         console.log('leased');
         await new Promise((resolve) => { const t = setInterval(() => existsSync(${JSON.stringify(go)}) && (clearInterval(t), resolve()), 10); });
         await getPort();
         console.log('done');`,
      ],
      { env: { ...process.env, BERTH_HOME: h }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(script);
    const exited = once(script, 'exit');
    await once(script.stdout!, 'data');
    const second = await holdLock();
    writeFileSync(go, '');
    // The lock is still held (until the holder's stdin closes): the script must not wait for it.
    const [code] = (await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve(['still running after 8 s']), 8_000)),
    ])) as [number | string];
    expect(code).toBe(0);
    expect(second.exitCode).toBeNull();
    const secondGone = once(second, 'exit');
    second.stdin!.end();
    await secondGone;
  });

  it('a process whose calls come in bursts has the next burst ready: the top-up after one covers as many calls', async () => {
    const h = home();
    const { owned } = registryIn(h);
    const handed = new Set<number>();
    const burst = async (n: number) => {
      const ports = await Promise.all(Array.from({ length: n }, () => getPort({ home: h })));
      for (const p of ports) handed.add(p);
      return ports;
    };
    const spare = () => owned().length - handed.size;
    for (const size of [20, 30]) {
      await burst(size);
      // The top-up comes BURST_TOP_UP_DELAY_MS after the burst, sized to it.
      await waitFor(() => spare() >= size, { timeoutMs: 10_000, what: `a reserve of ${size}` });
      const before = new Set(owned());
      const next = await burst(size);
      // Every port of the next burst was leased before it began: it waited for no commit.
      for (const p of next) expect(before.has(p)).toBe(true);
      await waitFor(() => spare() >= size, { timeoutMs: 10_000, what: `a reserve of ${size} again` });
    }
    expect(handed.size).toBe(100);
    // A burst larger than RESERVE_MAX gets a reserve of RESERVE_MAX, no more.
    await burst(RESERVE_MAX + 40);
    await waitFor(() => spare() > RESERVE_LOW, { timeoutMs: 10_000, what: 'the top-up' });
    await new Promise((resolve) => setTimeout(resolve, 4 * BURST_TOP_UP_DELAY_MS));
    expect(spare()).toBeLessThanOrEqual(RESERVE_MAX);
    await closeGetPort();
    expect(owned()).toEqual([]);
  });

  it('a top-up that finds the lock taken by another connection tries again and fills the reserve once it is free', async () => {
    const h = home();
    const { owned } = registryIn(h);
    const other = otherConnection(h);
    const ports = await Promise.all(Array.from({ length: 12 }, () => getPort({ home: h })));
    // The burst emptied the reserve; its top-up is due BURST_TOP_UP_DELAY_MS after its calls answered.
    expect(owned().length).toBe(ports.length);
    other.exec('BEGIN IMMEDIATE');
    // Held past the top-up's first try (and its first retries).
    await new Promise((resolve) => setTimeout(resolve, BURST_TOP_UP_DELAY_MS + 15));
    expect(owned().length).toBe(ports.length);
    other.exec('COMMIT');
    // A later retry gets the lock: the next burst of 12 is ready without a call waiting.
    await waitFor(() => owned().length >= 2 * ports.length, {
      timeoutMs: 10_000,
      what: 'the retried top-up',
    });
  });

  it('a top-up that gave up on the lock rides along with the next release; a release with no top-up due leases nothing', async () => {
    const h = home();
    const { owned } = registryIn(h);
    const other = otherConnection(h);
    const ports = await Promise.all(Array.from({ length: 12 }, () => getPort({ home: h })));
    expect(owned().length).toBe(ports.length);
    // Held past the top-up's every try (BURST_TOP_UP_DELAY_MS, then retries of 2-32 ms, jittered).
    other.exec('BEGIN IMMEDIATE');
    await new Promise((resolve) => setTimeout(resolve, BURST_TOP_UP_DELAY_MS + 300));
    other.exec('COMMIT');
    expect(owned().length).toBe(ports.length);
    // The releases give their ports back and lease the next burst's worth in the same turn
    // of the lock: once, though two release at once.
    const given = [ports[0]!, ports[1]!];
    expect(await Promise.all(given.map((p) => releasePort(p, { home: h })))).toEqual([true, true]);
    const afterRelease = owned();
    for (const p of given) expect(afterRelease).not.toContain(p);
    expect(afterRelease.length).toBe(ports.length - given.length + ports.length);
    // The reserve is full: the next release only gives back.
    expect(await releasePort(ports[2]!, { home: h })).toBe(true);
    expect(owned().length).toBe(afterRelease.length - 1);
    // And the next burst is answered from it: every port was leased before it began.
    const next = await Promise.all(Array.from({ length: 12 }, () => getPort({ home: h })));
    for (const p of next) expect(afterRelease).toContain(p);
  });

  it('a top-up armed before releaseAll is not carried by a release after it', async () => {
    const h = home();
    const { owned } = registryIn(h);
    const ports = await Promise.all(Array.from({ length: 12 }, () => getPort({ home: h })));
    // The burst armed its top-up (due BURST_TOP_UP_DELAY_MS later); releaseAll gives everything back first.
    await getPortContext(h).releaseAll();
    expect(owned()).toEqual([]);
    expect(await releasePort(ports[0]!, { home: h })).toBe(false);
    expect(owned()).toEqual([]);
    // Nor does the armed top-up lease anything when its time comes.
    await new Promise((resolve) => setTimeout(resolve, 4 * BURST_TOP_UP_DELAY_MS));
    expect(owned()).toEqual([]);
  });

  it('in a burst, a preferred port another live process holds is answered from the reserve; a free one is leased', async () => {
    const h = home();
    const [held, free] = (await reserveBlock(2)) as [number, number];
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { getPort } from ${JSON.stringify(LIB)};
         console.log(await getPort({ port: ${held}, range: [${held}, ${held}] })); setInterval(() => {}, 1000);`,
      ],
      { env: { ...process.env, BERTH_HOME: h }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    expect(Number(String(line).trim())).toBe(held);
    const { owned } = registryIn(h);
    await getPort({ home: h });
    const before = new Set(owned());
    expect(before.size).toBeGreaterThan(4);
    // A zero-config call first, so the preferred calls are made while others are in flight.
    const [, ...others] = await Promise.all([
      getPort({ home: h }),
      getPort({ port: held, home: h }),
      getPort({ port: held, home: h }),
      getPort({ port: [held], home: h }),
    ]);
    for (const p of others) {
      expect(p).not.toBe(held);
      expect(before.has(p)).toBe(true);
    }
    expect(new Set(others).size).toBe(3);
    // A preferred port nobody holds goes to the transaction and is leased as asked.
    const [, got] = await Promise.all([getPort({ home: h }), getPort({ port: free, home: h })]);
    expect(got).toBe(free);
    expect(before.has(free)).toBe(false);
    expect(owned()).toContain(free);
  });

  it('calls waiting for the lock leave the queue once another process leased the port they prefer: the reserve answers', async () => {
    const h = home();
    const [port] = (await reserveBlock(1)) as [number];
    await getPort({ home: h });
    const { registry, owned } = registryIn(h);
    const before = new Set(owned());
    const [, a, b] = await whileAnotherLeases(h, port, () => [
      getPort({ home: h }),
      getPort({ port, home: h }),
      getPort({ port, home: h }),
    ]);
    // Answered from the reserve leased before: no turn of the lock, no lease of the pool.
    for (const p of [a!, b!]) {
      expect(p).not.toBe(port);
      expect(before.has(p)).toBe(true);
    }
    // The port stays the other process's, leased once.
    const holders = registry.leasesInRange(port, port).map((l) => l.owner?.pid);
    expect(holders).toHaveLength(1);
    expect(holders).not.toContain(process.pid);
  });

  it('queued calls whose preferred port got taken do not leave the queue for an empty reserve: they lease one pool port each', async () => {
    const h = home();
    const [port] = (await reserveBlock(1)) as [number];
    const { owned } = registryIn(h);
    // No call yet in this registry: the reserve is empty.
    const got = await whileAnotherLeases(h, port, () => [
      getPort({ port, home: h }),
      getPort({ port, home: h }),
    ]);
    expect(got).not.toContain(port);
    // Their own transaction: a pool port each, not a reserve refilled for them. (Read in
    // the turn they answered: the top-up that follows waits BURST_TOP_UP_DELAY_MS.)
    expect(owned().sort()).toEqual([...got].sort());
    // They waited for a reserve too short to answer them: the top-up readies one for each.
    await waitFor(() => owned().length >= got.length + RESERVE_BATCH, {
      timeoutMs: 10_000,
      what: 'the top-up',
    });
  });

  it('calls that fell back to the pool in a turn of the lock count for the top-up: the next burst like them leaves the queue', async () => {
    const h = home();
    const [first, second] = (await reserveBlock(2)) as [number, number];
    const { owned } = registryIn(h);
    const burst = (port: number) => () => Array.from({ length: 12 }, () => getPort({ port, home: h }));
    // No call yet in this registry: the reserve is empty, so the burst takes its turn of the lock.
    const got = await whileAnotherLeases(h, first, burst(first));
    expect(got).not.toContain(first);
    // The top-up after it readies a port for each of its calls.
    await waitFor(() => owned().length >= 2 * got.length, { timeoutMs: 10_000, what: 'the top-up' });
    const ready = new Set(owned());
    const again = await whileAnotherLeases(h, second, burst(second));
    // Answered from the ports readied before it: it left the queue, no pool port leased for it.
    for (const p of again) expect(ready.has(p)).toBe(true);
    expect(new Set(again).size).toBe(again.length);
  });

  it('the preferred calls of one burst that fall back to the pool in its transaction lease ports side by side', async () => {
    const h = home();
    const [port] = (await reserveBlock(1)) as [number];
    // No call yet in this registry: the reserve is empty, so the burst is one transaction.
    const got = await Promise.all(Array.from({ length: 50 }, () => getPort({ port, home: h })));
    expect(got).toContain(port);
    const others = got.filter((p) => p !== port);
    // One start in the pool for the whole batch (at most a few, if the batch budget splits
    // it), not one per call: the ports share a few 256-port blocks of the port index.
    expect(new Set(others.map((p) => p >> 8)).size).toBeLessThanOrEqual(4);
  });

  it('a lone preferred call that falls back to the pool leases that one port: no reserve is readied for it', async () => {
    const h = home();
    const [port] = (await reserveBlock(1)) as [number];
    const { owned } = registryIn(h);
    expect(await getPort({ port, home: h })).toBe(port);
    const other = await getPort({ port, home: h });
    expect(other).not.toBe(port);
    await new Promise((resolve) => setTimeout(resolve, 4 * BURST_TOP_UP_DELAY_MS));
    expect(owned().sort()).toEqual([port, other].sort());
  });

  it('a lone call leases the port it names at once, as planning would pick it: allowed, not excluded, not held', async () => {
    const h = home();
    const [a, b, c, d] = (await reserveBlock(4)) as [number, number, number, number];
    const { registry } = registryIn(h);
    // The transactions getPort's registry runs: at once (transactionNow), or queued with a sweep or not.
    const ran: string[] = [];
    const own = getPortContext(h).adapters.registry;
    const now = own.transactionNow!.bind(own);
    const queued = own.transaction.bind(own);
    own.transactionNow = (fn, options) => {
      const done = now(fn, options);
      if (done) ran.push(options?.reclaim === false ? 'now' : 'now+sweep');
      return done;
    };
    own.transaction = (fn, options) => {
      ran.push(options?.reclaim === false ? 'queued' : 'queued+sweep');
      return queued(fn, options);
    };
    // Committed by the time the call answers: this process's lease, with its label, in one
    // transaction of its own without the sweep (it plans from no other lease).
    expect(await getPort({ port: a, label: 'api', home: h })).toBe(a);
    expect(registry.leasesInRange(a, a).map((l) => [l.owner?.pid, l.service])).toEqual([
      [process.pid, 'api'],
    ]);
    expect(ran.splice(0)).toEqual(['now']);
    // The first port named that the options and the policy allow.
    expect(await getPort({ port: [b, c], exclude: [b], home: h })).toBe(c);
    expect(await getPort({ port: [6000, b], home: h })).toBe(b); // X11's port: browsers block it
    ran.length = 0;
    // A port another live process's lease holds: the insert is refused, the call plans (with
    // the sweep) and passes over it, keeping its label; that lease stays.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(child);
    const owner = createProcessTable().owner(child.pid!)!;
    otherConnection(h)
      .prepare(
        `INSERT INTO leases (port, kind, project, dir, environment, service, pid, pid_start, created_at)
         VALUES (?, 'adhoc', '', '', '', 'getPort', ?, ?, ?)`,
      )
      .run(d, owner.pid, owner.startTime, Date.now());
    const fallback = await getPort({ port: [d, a, b, c], label: 'web', home: h });
    expect([d, a, b, c]).not.toContain(fallback);
    expect(registry.leasesInRange(fallback, fallback).map((l) => l.service)).toEqual(['web']);
    expect(registry.leasesInRange(d, d).map((l) => l.owner?.pid)).toEqual([child.pid]);
    expect(ran.splice(0)).toEqual(['now', 'now+sweep']);
    // Asked again soon: it plans at once, without a refused insert first.
    await getPort({ port: d, home: h });
    expect(ran.splice(0)).toEqual(['now+sweep']);
    // berth-ports/get-port's first candidate takes the same path.
    await releasePort(a, { home: h });
    ran.length = 0;
    expect(await getPortContext(h).leaseFirstFree([a, b])).toBe(a);
    expect(ran.splice(0)).toEqual(['now']);
    // The lock taken by another connection: the call waits its turn in the queue, then leases.
    await releasePort(a, { home: h });
    const other = otherConnection(h);
    other.exec('BEGIN IMMEDIATE');
    let answered = false;
    const pending = getPort({ port: a, home: h }).then((p) => {
      answered = true;
      return p;
    });
    const queue = lockQueueDir(join(h, 'registry.db'));
    await waitFor(() => existsSync(queue) && readdirSync(queue).length > 0, {
      timeoutMs: 10_000,
      what: 'a ticket in the lock queue',
    });
    expect(answered).toBe(false);
    other.exec('COMMIT');
    expect(await pending).toBe(a);
  });

  it("a call made while closeGetPort releases this process's leases keeps its lease", async () => {
    const h = home();
    const [a, b] = (await reserveBlock(2)) as [number, number];
    const { registry } = registryIn(h);
    expect(await getPort({ port: a, home: h })).toBe(a);
    const closing = closeGetPort();
    expect(await getPort({ port: b, home: h })).toBe(b);
    await closing;
    expect(registry.leasesOwnedBy(process.pid).map((l) => l.port)).toEqual([b]);
  });

  it('a preferred port this process just released is leased again in a burst of the same turn', async () => {
    const h = home();
    const [port] = (await reserveBlock(1)) as [number];
    expect(await getPort({ port, range: [port, port], home: h })).toBe(port);
    await getPort({ home: h });
    // In a burst, the port this process holds is passed over (and that is noted for the turn)...
    const [, other] = await Promise.all([getPort({ home: h }), getPort({ port, home: h })]);
    expect(other).not.toBe(port);
    // ...until this process gives it back: then the next burst's call gets it.
    expect(await releasePort(port, { home: h })).toBe(true);
    const [, again] = await Promise.all([getPort({ home: h }), getPort({ port, home: h })]);
    expect(again).toBe(port);
  });

  it('rejects bad options with E_USAGE', async () => {
    await expect(getPort({ port: 70000 })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(getPort({ range: [5000, 4000] })).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('a relative home names the folder it means at each call, also after a chdir', async () => {
    const [a, b] = [home(), home()];
    const cwd = process.cwd();
    try {
      process.chdir(a);
      const first = await getPort({ home: 'state' });
      process.chdir(b);
      const second = await getPort({ home: 'state' });
      const inA = openRegistry({ home: join(a, 'state') });
      const inB = openRegistry({ home: join(b, 'state') });
      try {
        // Zero-config calls lease a few pool ports ahead: each registry holds its own call's port only.
        const [portsA, portsB] = [inA, inB].map((r) => r.allLeases().map((l) => l.port));
        expect(portsA).toContain(first);
        expect(portsA).not.toContain(second);
        expect(portsB).toContain(second);
        expect(portsB).not.toContain(first);
      } finally {
        inA.close();
        inB.close();
      }
      process.chdir(a);
      expect(await releasePort(first, { home: 'state' })).toBe(true);
      process.chdir(b);
      expect(await releasePort(second, { home: 'state' })).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('createPortManager', () => {
  it('assigns from an in-code config and answers ports() in the seed shape', async () => {
    const h = home();
    const [p1, p2] = (await reserveBlock(2)) as [number, number];
    const pm = await createPortManager({
      cwd: h,
      home: join(h, 'state'),
      config: {
        project: 'lib',
        services: {
          server: { preferred: [p1], requires: ['http'] },
          websocket: { inheritFrom: 'server', requires: ['websocket'] },
          db: { preferred: [p2], requires: ['tcp'] },
        },
      },
    });
    try {
      const plan = await pm.assignAll();
      expect(plan.services.server).toEqual({
        port: p1,
        strategy: 'preferred',
        url: `http://localhost:${p1}`,
      });
      expect(pm.ports()).toEqual({
        server: p1,
        websocket: p1,
        db: p2,
        environment: 'development',
        urls: {
          server: `http://localhost:${p1}`,
          websocket: `ws://localhost:${p1}`,
          db: `tcp://localhost:${p2}`,
        },
      });
      expect((await pm.assign('db')).port).toBe(p2);
      expect((await pm.release('server')).map((l) => l.service).sort()).toEqual(['server', 'websocket']);
      expect(Object.keys(pm.ports())).toEqual(['db', 'environment', 'urls']);
      await pm.releaseAll();
      expect(pm.leases()).toEqual([]);
    } finally {
      pm.close();
    }
  });

  it('an unknown service is E_UNKNOWN_SERVICE and nothing is leased', async () => {
    const h = home();
    const pm = await createPortManager({ cwd: h, home: join(h, 'state'), config: { services: { a: {} } } });
    try {
      const error = await pm.assign('b').catch((e: unknown) => e);
      expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
      expect(pm.leases()).toEqual([]);
    } finally {
      pm.close();
    }
  });
});
