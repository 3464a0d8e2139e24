/**
 * An outage of a three-member etcd (two members stopped, then started again), met by
 * processes that are running and by one that starts during it: each call fails with
 * E_REGISTRY within the timeout, and the first call after the quorum is back succeeds,
 * in the same processes: a getPort() process, the daemon's GET /api/ports, and a
 * berth up whose service died during the outage and is restarted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD_TIMEOUT_MS } from '../../src/adapters/registry/etcd/session.js';
import { berth, CLI, reserveBlock, type Sandbox, sandbox, waitFor } from '../helpers.js';
import { HTTP_SERVICE, killStarted, startUp, type Up } from '../support/cli-process.js';
import { type Cluster, startCluster } from './cluster.js';
import { fleet } from './fleet.js';

let cluster: Cluster;
let box: Sandbox;
let block: number[];
let workers: ReturnType<typeof fleet>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startCluster(3);
  block = await reserveBlock(2);
  box = sandbox('shop');
  Object.assign(box.env, { BERTH_REGISTRY: cluster.url('outage'), BERTH_HOST: 'a' });
  box.writeConfig({
    project: 'shop',
    services: { web: { preferred: [block[0]], command: ['node', 'web.js'], restart: 'always' } },
  });
  writeFileSync(
    join(box.dir, 'web.js'),
    `require('node:fs').writeFileSync('web.pid', String(process.pid));${HTTP_SERVICE}`,
  );
  workers = fleet(cluster.url('outage'));
}, 60_000);

afterAll(async () => {
  killStarted();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await workers?.stopAll();
  await berth(['down'], { cwd: box.dir, env: box.env });
  box?.cleanup();
  await cluster?.destroy();
});

/** `berth serve` on the project's registry; resolves with its origin and token. */
async function daemon(): Promise<{ origin: string; token: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(block[1])], {
    cwd: box.dir,
    env: box.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => {
      out += c;
      const found = /Dashboard: (\S+)/.exec(out)?.[1];
      if (found) resolve(new URL(found));
    });
    child.once('exit', (code) => reject(new Error(`berth serve exited with ${code}`)));
  });
  return { origin: url.origin, token: url.searchParams.get('token')! };
}

/** GET /api/ports of the project from the daemon: its status and data. */
async function ports(d: { origin: string; token: string }): Promise<{ status: number; web?: number }> {
  const res = await fetch(`${d.origin}/api/ports?project=shop`, {
    headers: { authorization: `Bearer ${d.token}` },
    signal: AbortSignal.timeout(ETCD_TIMEOUT_MS + 5_000),
  });
  const body = (await res.json()) as { data?: { web?: number } };
  return { status: res.status, ...(body.data?.web === undefined ? {} : { web: body.data.web }) };
}

/** Whether something answers HTTP on `port`. */
const answers = (port: number) =>
  fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok,
    () => false,
  );

describe('two of three members down, then back', () => {
  it('a process started during the outage, the daemon and berth up all work again after it', async () => {
    const up: Up = startUp(box.dir, box.env);
    children.push(up.child);
    await up.line(/every service is ready/, 60_000);
    const d = await daemon();
    expect(await ports(d)).toEqual({ status: 200, web: block[0] });
    const webPid = Number(readFileSync(join(box.dir, 'web.pid'), 'utf8'));

    const [m0, m1] = cluster.members;
    await cluster.stop(m0!);
    await cluster.stop(m1!);
    // A process that starts now: E_REGISTRY naming the endpoints, within the timeout.
    const late = await workers.start('a');
    const started = Date.now();
    const failed = await late.go(1);
    const took = Date.now() - started;
    expect(failed.ports).toEqual([]);
    expect(failed.errors.map((e) => e.code)).toEqual(['E_REGISTRY']);
    expect(failed.errors[0]!.message).toContain(cluster.endpoints[2]!);
    expect(took).toBeLessThan(ETCD_TIMEOUT_MS + 5_000);
    process.stdout.write(`outage: E_REGISTRY for a process started without a quorum after ${took} ms\n`);
    // The CLI too: exit 1, E_REGISTRY.
    const get = await berth(['get', 'web', '--json'], { cwd: box.dir, env: box.env, timeoutMs: 30_000 });
    expect(get.code).toBe(1);
    expect(JSON.parse(get.stdout).error.code).toBe('E_REGISTRY');
    // berth up's service dies during the outage: berth up keeps running, says it waits for the registry.
    process.kill(webPid, 'SIGKILL');
    await up.line(/berth up keeps the stack running and tries again/, 30_000);
    expect(up.child.exitCode).toBe(null);

    await cluster.start(m0!);
    await cluster.start(m1!);
    // The same process: its next call succeeds.
    const again = await late.go(1);
    expect(again.errors).toEqual([]);
    expect(again.ports).toHaveLength(1);
    // The daemon answers from the registry again: a lease made after the outage shows.
    await waitFor(async () => (await ports(d)).status === 200, {
      timeoutMs: 30_000,
      what: 'GET /api/ports 200',
    });
    // berth up restarted its service, on its port.
    await waitFor(() => answers(block[0]!), { timeoutMs: 60_000, what: 'web answering again' });
    const restartedPid = Number(readFileSync(join(box.dir, 'web.pid'), 'utf8'));
    expect(restartedPid).not.toBe(webPid);
    expect(await ports(d)).toEqual({ status: 200, web: block[0] });
    const ls = await berth(['ls', '--json'], { cwd: box.dir, env: box.env });
    expect(ls.code, ls.stderr).toBe(0);
    const web = (JSON.parse(ls.stdout) as { service: string; port: number; pid: number | null }[]).find(
      (l) => l.service === 'web',
    );
    expect(web?.port).toBe(block[0]);
    up.child.kill('SIGTERM');
    expect(await up.exit).toBe(0);
  }, 180_000);
});
