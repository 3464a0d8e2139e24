/**
 * `berth up` and `berth down` end to end: the built CLI runs small Node
 * scripts as services, on ports from this test's own config (reserveBlock;
 * no port is assumed free), over loopback only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProcessTable } from '../../src/adapters/process/table.js';
import { berth, close, listen, reserveBlock, type Sandbox, sandbox } from '../helpers.js';
import { eventually, free, HTTP_SERVICE, killStarted, startUp } from '../support/cli-process.js';

const boxes: Sandbox[] = [];
const processes = createProcessTable();

afterEach(async () => {
  killStarted();
  for (const box of boxes.splice(0)) {
    // Whatever a failed test left: berth down stops it (the rows say what), then the folder goes.
    await berth(['down'], { cwd: box.dir, env: box.env });
    box.cleanup();
  }
});

/** A project folder with its config and service scripts, and a registry of its own (or a shared one). */
function project(config: unknown, scripts: Record<string, string>, shared?: Sandbox): Sandbox {
  let box: Sandbox;
  if (shared) {
    const dir = join(dirname(shared.dir), `checkout-${boxes.length}`);
    mkdirSync(dir);
    box = { ...shared, dir, cleanup: () => {} };
  } else {
    box = sandbox();
  }
  boxes.push(box);
  writeFileSync(join(box.dir, 'berth.config.json'), JSON.stringify(config, null, 2));
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(box.dir, name), text);
  return box;
}

/** Whether `pid` still runs (a zombie does not). */
const alive = (pid: number) => processes.owner(pid) !== null;

/** Prints its pid and serves http on PORT, on 127.0.0.1. */

describe('berth up', () => {
  it('starts a three-level stack in order, each service with every variable, its output prefixed', async () => {
    const ports = await reserveBlock(3);
    const box = project(
      {
        services: {
          db: { preferred: [ports[0]], requires: ['tcp'], command: ['node', 'db.js'] },
          api: { preferred: [ports[1]], command: 'node api.js', dependsOn: ['db'] },
          websocket: { inheritFrom: 'api', requires: ['websocket'] },
          web: { preferred: [ports[2]], command: ['node', 'web.js'], dependsOn: ['api'] },
        },
      },
      {
        // Ready only after a while, as a database is.
        'db.js': `
const net = require('node:net');
setTimeout(() => net.createServer((s) => { s.on('error', () => {}); s.end(); }).listen(+process.env.PORT, '127.0.0.1', () => console.log('db up')), 800);`,
        // Refuses to start unless the db's port answers.
        'api.js': `
const net = require('node:net');
const http = require('node:http');
const db = net.connect(+process.env.DB_PORT, '127.0.0.1');
db.on('error', () => { console.error('db not reachable'); process.exit(1); });
db.on('connect', () => {
  db.end();
  console.log('api env PORT=' + process.env.PORT + ' DB_URL=' + process.env.DB_URL + ' WEBSOCKET_URL=' + process.env.WEBSOCKET_URL + ' WEB_PORT=' + process.env.WEB_PORT);
  console.error('api warns on stderr');
  http.createServer((q, s) => s.end('api')).listen(+process.env.PORT, '127.0.0.1');
});`,
        'web.js': `
const http = require('node:http');
console.log('web env PORT=' + process.env.PORT + ' API_URL=' + process.env.API_URL);
process.stdout.write('partial ');
setTimeout(() => process.stdout.write('line\\n'), 50);
http.createServer((q, s) => s.end('web')).listen(+process.env.PORT, '127.0.0.1');`,
      },
    );
    const up = startUp(box.dir, box.env);
    const [db, api, web] = ports as [number, number, number];
    // The summary's last line, then every line before it is in.
    await up.line(new RegExp(`^web +${web} +http://localhost:${web} `));
    const exact = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    await up.line(exact('db        | db up'));
    await up.line(
      exact(
        `api       | api env PORT=${api} DB_URL=tcp://localhost:${db} WEBSOCKET_URL=ws://localhost:${api} WEB_PORT=${web}`,
      ),
    );
    expect(up.err).toContain('api       | api warns on stderr');
    await up.line(exact(`web       | web env PORT=${web} API_URL=http://localhost:${api}`));
    await up.line(exact('web       | partial line'));
    // Started in order: each only once the one before was ready.
    const order = up.err
      .filter((l) => /berth: (starting|ready)/.test(l))
      .map((l) => l.replace(/ +\|.*berth: (\w+).*/, ' $1'));
    expect(order).toEqual([
      'db starting',
      'db ready',
      'api starting',
      'api ready',
      'web starting',
      'web ready',
    ]);
    expect(up.err.join('\n')).toMatch(new RegExp(`websocket +${api} +ws://localhost:${api}`));
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
    expect(await Promise.all(ports.map(free))).toEqual([true, true, true]);
  });

  it('after Ctrl-C, frees every port within stopTimeout and leaves no process, grandchildren included', async () => {
    const ports = await reserveBlock(2);
    const box = project(
      {
        services: {
          // A parent that forks the real listener, which ignores SIGTERM: only the group's SIGKILL stops it.
          app: { preferred: [ports[0]], requires: ['tcp'], command: 'node parent.js', stopTimeout: 1500 },
          side: { preferred: [ports[1]], command: ['node', 'side.js'] },
        },
      },
      {
        'parent.js': `
const { spawn } = require('node:child_process');
console.log('parent pid=' + process.pid);
spawn(process.execPath, ['child.js'], { stdio: 'inherit' });
setInterval(() => {}, 1000);`,
        'child.js': `
process.on('SIGTERM', () => console.log('grandchild ignores SIGTERM'));
require('node:net').createServer().listen(+process.env.PORT, '127.0.0.1', () => console.log('grandchild pid=' + process.pid));`,
        'side.js': HTTP_SERVICE,
      },
    );
    const up = startUp(box.dir, box.env);
    await up.line(/every service is ready/);
    const pidIn = (line: string) => Number(/pid=(\d+)/.exec(line)![1]);
    const pids = [
      pidIn(await up.line(/^app +\| parent pid=/)),
      pidIn(await up.line(/^app +\| grandchild pid=/)),
      pidIn(await up.line(/^side +\| pid=/)),
    ];
    const stoppedAt = Date.now();
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(1500 + 3000);
    await up.line(/^app +\| grandchild ignores SIGTERM$/);
    expect(up.err.some((l) => /^app +\| berth: still running .* sent SIGKILL$/.test(l))).toBe(true);
    expect(pids.filter(alive)).toEqual([]);
    expect(await Promise.all(ports.map(free))).toEqual([true, true]);
  });

  it('brings back a service that crashes once, with restart: on-failure', async () => {
    const [port] = await reserveBlock(1);
    const box = project(
      { services: { flaky: { preferred: [port], command: ['node', 'flaky.js'], restart: 'on-failure' } } },
      {
        'flaky.js': `
const fs = require('node:fs');
if (!fs.existsSync('crashed-once')) { fs.writeFileSync('crashed-once', ''); console.error('crashing on purpose'); process.exit(3); }
${HTTP_SERVICE}`,
      },
    );
    const up = startUp(box.dir, box.env);
    await up.line(/every service is ready/);
    expect(up.err).toContain('flaky | crashing on purpose');
    expect(up.err).toContain('flaky | berth: exited with code 3');
    expect(up.err).toContain('flaky | berth: restarting in 1.0 s (restart 1)');
    expect(up.err.some((l) => /^flaky \| berth: starting .*restart 1\)$/.test(l))).toBe(true);
    up.child.kill('SIGTERM');
    expect(await up.exit).toBe(0);
  });

  it('stops the stack and exits 1 naming the service that exited, as foreman does', async () => {
    const ports = await reserveBlock(2);
    const box = project(
      {
        services: {
          steady: { preferred: [ports[0]], command: ['node', 'steady.js'] },
          broken: { preferred: [ports[1]], command: 'node -e "process.exit(7)"', dependsOn: ['steady'] },
        },
      },
      { 'steady.js': HTTP_SERVICE },
    );
    const up = startUp(box.dir, box.env);
    expect(await up.exit).toBe(1);
    expect(up.err.join('\n')).toContain(
      'berth: stopped the stack because broken exited with code 7 (restart: "no")',
    );
    expect(up.err).toContain('steady | berth: stopped');
  });

  it('moves a service whose port a stranger takes before it binds, says why, and it comes up', async () => {
    const ports = await reserveBlock(4);
    const box = project(
      {
        services: {
          slow: { preferred: [ports[0]], requires: ['tcp'], command: ['node', 'slow.js'] },
          web: {
            preferred: [ports[1]],
            range: { min: ports[1], max: ports[3] },
            command: ['node', 'web.js'],
            dependsOn: ['slow'],
          },
        },
      },
      {
        'slow.js': `setTimeout(() => require('node:net').createServer((s) => s.end()).listen(+process.env.PORT, '127.0.0.1'), 1500);`,
        'web.js': HTTP_SERVICE,
      },
    );
    const up = startUp(box.dir, box.env);
    await up.line(new RegExp(`^web assigned port ${ports[1]}`));
    // This test process, which berth did not start, takes web's port while web waits for slow.
    const stranger = await listen(ports[1]!);
    try {
      const moved = await up.line(/web +\| berth: moved/);
      expect(moved).toContain(`moved from port ${ports[1]} to ${ports[2]}`);
      expect(moved).toContain(`taken by pid ${process.pid}`);
      await up.line(new RegExp(`web +\\| berth: ready on http://localhost:${ports[2]} `));
      await up.line(/every service is ready/);
    } finally {
      await close(stranger);
    }
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });

  it('runs two checkouts of one project at once without sharing a port', async () => {
    const block = await reserveBlock(8);
    const range = { min: block[0]!, max: block[7]! };
    const config = {
      project: 'twin',
      services: {
        db: { preferred: [block[0]], range, requires: ['tcp'], command: ['node', 'svc.js'] },
        api: { preferred: [block[1]], range, command: ['node', 'svc.js'], dependsOn: ['db'] },
        web: { preferred: [block[2]], range, command: ['node', 'svc.js'], dependsOn: ['api'] },
      },
    };
    const first = project(config, { 'svc.js': HTTP_SERVICE });
    const second = project(config, { 'svc.js': HTTP_SERVICE }, first);
    const ups = [startUp(first.dir, first.env, ['--json']), startUp(second.dir, second.env, ['--json'])];
    const summaries = await Promise.all(
      ups.map(
        async (up) => JSON.parse(await up.line(/"type":"up"/, 30_000)) as { services: { port: number }[] },
      ),
    );
    const ports = summaries.flatMap((s) => s.services.map((x) => x.port));
    expect(ports).toHaveLength(6);
    expect(new Set(ports).size).toBe(6);
    for (const up of ups) up.child.kill('SIGINT');
    expect(await Promise.all(ups.map((u) => u.exit))).toEqual([0, 0]);
  });
});

describe('berth up: config errors', () => {
  it('refuses a dependency cycle and a string env with exit 2, naming each path and the fix', async () => {
    const box = project(
      {
        services: {
          api: { command: 'node api.js', dependsOn: ['web'], env: 'API_PORT' },
          web: { command: 'node web.js', dependsOn: ['api'] },
        },
      },
      {},
    );
    const res = await berth(['up'], { cwd: box.dir, env: box.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      'services.api.dependsOn[0]: dependency cycle api -> web -> api; remove one of these dependsOn entries',
    );
    expect(res.stderr).toContain('services.api.env: must be an object of extra variables');
    expect(res.stderr).toContain('rename `env` to `portEnv`');
  });
});

describe('berth down', () => {
  it('stops a running berth up from another terminal', async () => {
    const [port] = await reserveBlock(1);
    const box = project(
      { services: { svc: { preferred: [port], command: ['node', 'svc.js'] } } },
      { 'svc.js': HTTP_SERVICE },
    );
    const up = startUp(box.dir, box.env);
    await up.line(/every service is ready/);
    const down = await berth(['down'], { cwd: box.dir, env: box.env });
    expect(down).toMatchObject({ code: 0 });
    expect(down.stdout).toContain(`berth up (pid ${up.child.pid}) stopped the stack`);
    expect(await up.exit).toBe(0);
    expect(up.err).toContain('svc | berth: stopped');
  });

  it('--json against a running berth up lists the services it stopped', async () => {
    const ports = await reserveBlock(2);
    const box = project(
      {
        services: {
          db: { preferred: [ports[0]], command: ['node', 'svc.js'] },
          api: { preferred: [ports[1]], command: 'node svc.js', dependsOn: ['db'] },
        },
      },
      { 'svc.js': HTTP_SERVICE },
    );
    const up = startUp(box.dir, box.env);
    await up.line(/every service is ready/);
    const down = await berth(['down', '--json'], { cwd: box.dir, env: box.env });
    expect(down.code).toBe(0);
    const json = JSON.parse(down.stdout);
    expect({ ...json, services: [...json.services].sort() }).toEqual({
      state: 'stopped',
      runner: up.child.pid,
      services: ['api', 'db'],
    });
    expect(await up.exit).toBe(0);
  });

  it('after berth up was SIGKILLed: berth check reports the orphans, berth down stops them and leaves nothing', async () => {
    const ports = await reserveBlock(2);
    const box = project(
      {
        services: {
          db: { preferred: [ports[0]], command: ['node', 'svc.js'] },
          api: { preferred: [ports[1]], command: 'node svc.js', dependsOn: ['db'] },
        },
      },
      { 'svc.js': HTTP_SERVICE },
    );
    const up = startUp(box.dir, box.env);
    await up.line(/every service is ready/);
    const pidIn = (line: string) => Number(/pid=(\d+)/.exec(line)![1]);
    const pids = [pidIn(await up.line(/^db +\| pid=/)), pidIn(await up.line(/^api +\| pid=/))];
    up.child.kill('SIGKILL');
    await up.exit;
    // The services outlive it: they lead process groups of their own.
    expect(pids.filter(alive)).toEqual(pids);

    const check = await berth(['check'], { cwd: box.dir, env: box.env });
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`berth up (pid ${up.child.pid}) was killed and left processes running`);
    expect(check.stdout).toContain('`berth down` stops them');
    const json = JSON.parse((await berth(['check', '--json'], { cwd: box.dir, env: box.env })).stdout);
    expect(json.orphans.map((o: { service: string }) => o.service).sort()).toEqual(['api', 'db']);

    const down = await berth(['down'], { cwd: box.dir, env: box.env });
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('left: api, db');
    // Reverse dependency order: api before db.
    expect(down.stderr.split('\n').filter((l) => l.includes('berth: stopping'))).toEqual([
      'api | berth: stopping (SIGTERM to its process group)',
      'db  | berth: stopping (SIGTERM to its process group)',
    ]);
    await eventually('the services are gone', () => pids.every((p) => !alive(p)));
    expect(await Promise.all(ports.map(free))).toEqual([true, true]);
    const after = await berth(['check', '--json'], { cwd: box.dir, env: box.env });
    expect(JSON.parse(after.stdout).orphans).toEqual([]);
    expect((await berth(['ls', '--json'], { cwd: box.dir, env: box.env })).stdout).not.toContain(
      '"service": "api"',
    );
  });
});
