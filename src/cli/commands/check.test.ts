import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reserveBlock } from '../../../test/helpers.js';
import { diagnoseLeases, leasedServices } from '../../compose/diagnostics.js';
import { createPortManager, type PortManager } from '../../compose/manager.js';
import { isBerthError } from '../../errors.js';
import { checkJson, describeHolder } from './check.js';

let ports: number[];
let root: string;
let pm: PortManager | undefined;
const servers: Server[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  ports = await reserveBlock(2);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  for (const c of children.splice(0)) c.kill('SIGKILL');
  pm?.close();
  pm = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** A project with an http `server` (and `websocket` inheriting it) and a tcp `database`, on the reserved ports. */
async function project(): Promise<PortManager> {
  root = mkdtempSync(join(tmpdir(), 'berth-check-'));
  pm = await createPortManager({
    cwd: root,
    home: join(root, 'home'),
    config: {
      project: 'shop',
      services: {
        server: { preferred: [ports[0]!], range: { min: ports[0]!, max: ports[0]! }, requires: ['http'] },
        websocket: { inheritFrom: 'server', requires: ['websocket'] },
        database: { preferred: [ports[1]!], range: { min: ports[1]!, max: ports[1]! }, requires: ['tcp'] },
      },
    },
  });
  return pm;
}

async function serveHttp(port: number, status = 200): Promise<void> {
  const server = createServer((_req, res) => {
    res.statusCode = status;
    res.end();
  });
  servers.push(server);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
}

async function idleChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child;
}

describe('leasedServices', () => {
  it('refuses an unknown service and a service without a lease, naming the fix', async () => {
    const pm = await project();
    await pm.assign('database');
    expect(() => leasedServices(pm, ['nope'])).toThrow(/unknown service "nope"/);
    let error: unknown;
    try {
      leasedServices(pm, ['server']);
    } catch (e) {
      error = e;
    }
    expect(isBerthError(error, 'E_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe('server has no lease; run `berth assign server` first.');
    expect(leasedServices(pm, []).map((l) => l.service)).toEqual(['database']);
  });
});

describe('diagnoseLeases', () => {
  it('reports free ports as not running without a health check, and a listening lease without owner as bound and healthy', async () => {
    const pm = await project();
    await pm.assignAll();
    await serveHttp(ports[0]!);
    const rows = await diagnoseLeases(pm, leasedServices(pm, []));
    expect(rows.map((r) => [r.service, r.state, r.health.status])).toEqual([
      ['server', 'bound', 'healthy'],
      ['websocket', 'bound', 'healthy'],
      ['database', 'free', 'not-running'],
    ]);
    expect(rows[0]!.holder).toEqual({ pid: process.pid, command: expect.any(String) });
    expect(rows[1]!.root).toBe('server');
    expect(rows[2]!.health).toEqual({
      status: 'not-running',
      reason: 'nothing listens on the port',
      latencyMs: null,
    });
    expect(checkJson(rows).ok).toBe(true);
  });

  it('reports a failing health check as unhealthy, which is a problem', async () => {
    const pm = await project();
    await pm.assign('server');
    await serveHttp(ports[0]!, 503);
    const [server] = await diagnoseLeases(pm, leasedServices(pm, ['server']));
    expect(server!.health.status).toBe('unhealthy');
    expect(server!.health.reason).toContain('answered 503');
    expect(checkJson([server!]).ok).toBe(false);
  });

  it("calls a listener outside the owner's process tree foreign, and runs no health check on it", async () => {
    const pm = await project();
    const child = await idleChild();
    await pm.assign('server', { owner: pm.adapters.processes.owner(child.pid!) });
    await serveHttp(ports[0]!);
    const [server] = await diagnoseLeases(pm, leasedServices(pm, ['server']));
    expect(server).toMatchObject({
      state: 'foreign',
      holder: { pid: process.pid },
      ownerPid: child.pid,
      health: { status: 'unknown', reason: 'the port is held by a process berth did not lease' },
    });
  });

  it('calls a lease whose owner died owner-dead, and the JSON has exactly the documented shape', async () => {
    const pm = await project();
    const child = await idleChild();
    await pm.assign('database', { owner: pm.adapters.processes.owner(child.pid!) });
    child.kill('SIGKILL');
    await once(child, 'exit');
    const rows = await diagnoseLeases(pm, leasedServices(pm, ['database']));
    expect(checkJson(rows)).toEqual({
      ok: false,
      services: [
        {
          service: 'database',
          port: ports[1],
          state: 'owner-dead',
          holder: null,
          health: { status: 'unknown', reason: "the lease's owner died", latencyMs: null },
        },
      ],
    });
  });
});

describe('describeHolder', () => {
  it('names the pid and command, or says the process is hidden', () => {
    expect(describeHolder({ pid: 42, command: 'node server.js' })).toBe('pid 42 (node server.js)');
    expect(describeHolder({ pid: 42, command: null })).toBe('pid 42');
    expect(describeHolder(null)).toBe("another user's process");
  });
});
