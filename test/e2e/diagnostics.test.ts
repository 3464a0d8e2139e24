/**
 * `berth check`, `wait`, `who` and `free` against the built CLI and real child
 * processes. Every port comes from reserveBlock(); nothing assumes a fixed port is free.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { berth, CLI, close, listen, reserveBlock, type Sandbox, sandbox, waitFor } from '../helpers.js';

let block: number[];
let box: Sandbox;
const servers: Server[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  block = await reserveBlock(6);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await close(s);
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  box?.cleanup();
});

/** server (http, with websocket inheriting it) and database (tcp), on reserved ports. */
function fresh(): Sandbox {
  box = sandbox();
  box.writeConfig({
    project: 'shop',
    services: {
      server: { preferred: [block[0]], range: { min: block[0], max: block[2] }, requires: ['http'] },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      database: { preferred: [block[3]], range: { min: block[3], max: block[4] }, requires: ['tcp'] },
    },
  });
  return box;
}

const run = (args: string[]) => berth(args, { cwd: box.dir, env: box.env });

/** Node one-liners for child processes; the port comes as the first argument. */
const SCRIPTS = {
  http: `require('http').createServer((q, s) => s.end('ok')).listen(+process.argv[1], '127.0.0.1', () => console.log('ready'))`,
  httpLater: `setTimeout(() => require('http').createServer((q, s) => s.end('ok')).listen(+process.argv[1], '127.0.0.1'), 300)`,
  tcp: `require('net').createServer((c) => c.end()).listen(+process.argv[1], '127.0.0.1', () => console.log('ready'))`,
  stubborn: `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); require('net').createServer().listen(+process.argv[1], '127.0.0.1', () => console.log('ready'))`,
  idle: 'setInterval(() => {}, 1e9)',
  httpOnPort: `require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1')`,
};

/** Starts a child of the test process; resolves once it printed `ready` (when it is going to). */
async function child(script: string, args: string[] = [], waitReady = true): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  if (waitReady) {
    await new Promise<void>((resolve, reject) => {
      c.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      c.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
  } else {
    await once(c, 'spawn');
  }
  return c;
}

/** `berth run <service> -- node -e <script>` in the background, as a user would start it. */
async function berthRun(service: string, script: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [CLI, 'run', '--quiet', service, '--', process.execPath, '-e', script], {
    cwd: box.dir,
    env: box.env,
    stdio: 'ignore',
  });
  children.push(c);
  await once(c, 'spawn');
  return c;
}

type LsRow = { service: string; port: number; pid: number | null };

/** Polls `berth ls --json` until `service`'s lease is tied to a process other than `notPid`. */
async function ownedLease(service: string, notPid: number): Promise<LsRow> {
  for (let i = 0; i < 100; i++) {
    const rows = JSON.parse((await run(['ls', '--json'])).stdout || '[]') as LsRow[];
    const row = rows.find((r) => r.service === service);
    if (row && row.pid !== null && row.pid !== notPid) return row;
    await sleep(100);
  }
  throw new Error(`${service}'s lease never got an owner`);
}

/** True once `pid` is gone or a zombie (the orphan's new parent may reap it late). */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function stopped(c: ChildProcess): Promise<unknown> {
  return c.exitCode === null && c.signalCode === null ? once(c, 'exit') : Promise.resolve();
}

describe('berth check', () => {
  it('reports a service started by berth run as bound and healthy, held by the child', async () => {
    fresh();
    const runner = await berthRun('server', SCRIPTS.httpOnPort);
    const lease = await ownedLease('server', runner.pid!);
    expect((await run(['wait', 'server', '--timeout', '15s'])).code).toBe(0);
    const res = await run(['check', '--json']);
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(Object.keys(json)).toEqual(['ok', 'services', 'orphans']);
    expect(json.ok).toBe(true);
    const server = json.services.find((s: { service: string }) => s.service === 'server');
    expect(server).toEqual({
      service: 'server',
      port: lease.port,
      state: 'bound',
      holder: { pid: lease.pid, command: expect.stringContaining('process.env.PORT') },
      health: { status: 'healthy', reason: null, latencyMs: expect.any(Number) },
    });
    expect(json.services.find((s: { service: string }) => s.service === 'websocket').state).toBe('bound');
    expect(json.services.find((s: { service: string }) => s.service === 'database')).toMatchObject({
      state: 'free',
      holder: null,
      health: { status: 'not-running', reason: 'nothing listens on the port', latencyMs: null },
    });
    const text = await run(['check', 'server']);
    expect(text.stdout).toMatch(new RegExp(`server\\s+${lease.port}\\s+bound\\s+${lease.pid}\\s+.*healthy`));
    runner.kill('SIGTERM');
    await stopped(runner);
  });

  it('reports reserved services nothing listens on as not running, which is no failure (exit 0)', async () => {
    fresh();
    expect((await run(['assign'])).code).toBe(0);
    const res = await run(['check', '--json']);
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout);
    expect(json.ok).toBe(true);
    expect(json.services.map((s: { service: string }) => s.service)).toEqual([
      'server',
      'websocket',
      'database',
    ]);
    for (const s of json.services) {
      expect(s).toMatchObject({
        state: 'free',
        holder: null,
        health: { status: 'not-running', reason: 'nothing listens on the port', latencyMs: null },
      });
    }
    const text = await run(['check']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^server\\s+${block[0]}\\s+free\\s+-\\s+-\\s+not running$`, 'm'));
    expect(text.stdout).not.toContain('unhealthy');
    expect(text.stdout).not.toContain('✖');
  });

  it('reports a lease whose owner was killed as owner-dead (exit 1), and --fix reclaims it', async () => {
    fresh();
    const runner = await berthRun('database', SCRIPTS.idle);
    const lease = await ownedLease('database', runner.pid!);
    // Kill berth run first, so it cannot release the lease when its child dies.
    runner.kill('SIGKILL');
    await stopped(runner);
    process.kill(lease.pid!, 'SIGKILL');
    await waitFor(() => exited(lease.pid!), { timeoutMs: 10_000, what: `pid ${lease.pid} exiting` });
    const res = await run(['check', 'database']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`database\\s+${lease.port}\\s+owner-dead`));
    expect(res.stdout).toContain(
      `database: the lease's owner (pid ${lease.pid}) died; \`berth check --fix\` reclaims it.`,
    );
    const fix = await run(['check', '--fix']);
    expect(fix.stdout).toContain(
      `reclaimed database's lease on port ${lease.port}: owner pid ${lease.pid} died`,
    );
    expect(fix.code).toBe(0);
    const after = JSON.parse((await run(['ls', '--json'])).stdout) as LsRow[];
    expect(after.map((r) => r.service)).not.toContain('database');
  });

  it('reports a port taken by a process outside the owner tree as foreign, and --fix moves the lease', async () => {
    fresh();
    const runner = await berthRun('server', SCRIPTS.idle);
    const lease = await ownedLease('server', runner.pid!);
    servers.push(await listen(lease.port));
    const res = await run(['check', '--json']);
    expect(res.code).toBe(1);
    const json = JSON.parse(res.stdout);
    expect(json.ok).toBe(false);
    expect(json.services.find((s: { service: string }) => s.service === 'server')).toMatchObject({
      state: 'foreign',
      holder: { pid: process.pid },
      health: { status: 'unknown' },
    });
    const fix = await run(['check', '--fix']);
    expect(fix.stdout).toMatch(
      new RegExp(`server moved from ${lease.port} to (\\d+): ${lease.port} taken by pid ${process.pid} \\(`),
    );
    expect(fix.code).toBe(0);
    const after = JSON.parse((await run(['ls', '--json'])).stdout) as LsRow[];
    const moved = after.find((r) => r.service === 'server')!;
    expect(moved.port).not.toBe(lease.port);
    expect(after.find((r) => r.service === 'websocket')!.port).toBe(moved.port);
    runner.kill('SIGTERM');
    await stopped(runner);
  });
});

describe('berth wait', () => {
  it('succeeds once a server that starts after 300 ms answers', async () => {
    fresh();
    const assigned = JSON.parse((await run(['assign', '--json'])).stdout);
    const port = assigned.services.server.port as number;
    await child(SCRIPTS.httpLater, [String(port)], false);
    const res = await run(['wait', 'server', '--timeout', '15s']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(`^server is healthy on port ${port} after [\\d.]+s \\(\\d+ ms\\)$`, 'm'),
    );
  });

  it('exits 1 naming the services that did not come up, with the last reason', async () => {
    fresh();
    await run(['assign']);
    const db = await child(SCRIPTS.tcp, [String(block[3])]);
    // database answers: wait for that on its own first, with room for a loaded machine.
    expect((await run(['wait', 'database', '--timeout', '15s'])).code).toBe(0);
    // Then the budget only has to run out for server, which never starts; database,
    // known healthy, needs one local connect of it.
    const res = await run(['wait', 'server', 'database', '--timeout', '2s', '--json']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('berth: server did not become healthy within 2.0s.');
    expect(res.stderr).toContain(`server (port ${block[0]}): not running`);
    const json = JSON.parse(res.stdout);
    expect(json.ok).toBe(false);
    expect(json.services.map((s: { service: string; status: string }) => [s.service, s.status])).toEqual([
      ['server', 'not-running'],
      ['database', 'healthy'],
    ]);
    db.kill();
  });

  it('refuses a service without a lease (exit 1) and an unknown service (exit 2)', async () => {
    fresh();
    const none = await run(['wait', 'server', '--timeout', '1s']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('server has no lease; run `berth assign server` first.');
    const unknown = await run(['wait', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown service "nope"');
  });
});

describe('berth who', () => {
  it('names the pid, user, command and address of a listening child, and the lease when berth leased the port', async () => {
    fresh();
    const assigned = JSON.parse((await run(['assign', '--json'])).stdout);
    const port = assigned.services.server.port as number;
    const c = await child(SCRIPTS.tcp, [String(port)]);
    const res = await run(['who', String(port), '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      port,
      listeners: [
        {
          pid: c.pid,
          user: userInfo().username,
          command: `${process.execPath} -e ${SCRIPTS.tcp} ${port}`,
          address: '127.0.0.1',
        },
      ],
      lease: { project: 'shop', service: 'server', environment: 'development' },
    });
    const text = await run(['who', String(port)]);
    expect(text.stdout).toMatch(
      new RegExp(
        `^\\s*${c.pid}\\s+${userInfo().username}\\s+127\\.0\\.0\\.1\\s+\\S+ \\(\\d+s ago\\)\\s+`,
        'm',
      ),
    );
    expect(text.stdout).toContain(
      `leased by berth to shop/server (development) in ${box.dir}, shared by websocket`,
    );
  });

  it('says when berth did not lease the port, and exits 1 when nothing listens', async () => {
    fresh();
    const c = await child(SCRIPTS.tcp, [String(block[5])]);
    const held = await run(['who', String(block[5])]);
    expect(held.code).toBe(0);
    expect(held.stdout).toContain(`port ${block[5]} is not leased by berth`);
    c.kill();
    await stopped(c);
    const res = await run(['who', String(block[5]), '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toEqual({ port: block[5], listeners: [], lease: null });
    expect((await run(['who', String(block[5])])).stdout).toContain(`nothing listens on port ${block[5]}`);
  });

  it.each([['who'], ['free']])(
    '%s rejects "3000;touch x" as a usage error and runs nothing',
    async (command) => {
      fresh();
      const res = await run([command, '3000;touch x']);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('"3000;touch x" is not a TCP port');
      expect(existsSync(join(box.dir, 'x'))).toBe(false);
    },
  );
});

describe('berth free', () => {
  it('stops a process that exits on SIGTERM', async () => {
    fresh();
    const c = await child(SCRIPTS.tcp, [String(block[5])]);
    const res = await run(['free', String(block[5])]);
    expect(res.stdout).toContain(`stopped pid ${c.pid} (`);
    expect(res.stdout).toContain(`port ${block[5]} is free`);
    expect(res.code).toBe(0);
    await stopped(c);
    expect(c.signalCode).toBe('SIGTERM');
  });

  it('leaves a process that ignores SIGTERM running without --force (exit 1), and kills it with --force', async () => {
    fresh();
    const c = await child(SCRIPTS.stubborn, [String(block[5])]);
    const soft = await run(['free', String(block[5]), '--grace', '500ms']);
    expect(soft.code).toBe(1);
    expect(soft.stdout).toContain(`pid ${c.pid} (`);
    expect(soft.stdout).toContain('is still running 0.5s after SIGTERM. Use --force to send SIGKILL');
    expect(c.exitCode === null && c.signalCode === null).toBe(true);
    const hard = await run(['free', String(block[5]), '--grace', '500ms', '--force', '--json']);
    expect(hard.code).toBe(0);
    const json = JSON.parse(hard.stdout);
    expect(json).toMatchObject({
      port: block[5],
      free: true,
      processes: [{ pid: c.pid, outcome: 'killed' }],
    });
    await stopped(c);
    expect(c.signalCode).toBe('SIGKILL');
  });

  it('exits 0 when nothing listens on the port: it is already free', async () => {
    fresh();
    const res = await run(['free', String(block[5])]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`nothing listens on port ${block[5]}; it is free`);
  });
});
