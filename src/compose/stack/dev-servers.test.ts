/**
 * The stack runner and dev servers (issue 18), on the fake machine: the
 * tool's port arguments at each start, the move when a strict tool fails on
 * a taken port, readiness by output or command (a dependent waits for it), and
 * the warning about a process of the tree on another port.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpStacks, stackOn, until } from '../../../test/support/stack-on.js';

afterEach(cleanUpStacks);

const PACKAGE = JSON.stringify({ scripts: { dev: 'vite' } });

describe('port arguments', () => {
  it('runs npm run dev with -- --port and --strictPort, and says so once per start', async () => {
    const t = await stackOn(
      { services: { web: { preferred: [4000], range: { min: 4000, max: 4009 }, command: 'npm run dev' } } },
      [],
      { 'package.json': PACKAGE },
    );
    const web = await t.child('npm run dev -- --port 4000 --strictPort');
    expect(web.env.PORT).toBe('4000');
    expect(t.of('port-args')).toEqual([
      {
        type: 'port-args',
        service: 'web',
        tool: 'vite',
        args: ['--port', '4000', '--strictPort'],
        message: 'vite does not read PORT; running it with --port 4000 --strictPort',
      },
    ]);
    expect(t.of('starting')[0]!.command).toBe('npm run dev -- --port 4000 --strictPort');
  });

  it('when the strict tool exits because a stranger took its port, moves it and starts it with the new port', async () => {
    const t = await stackOn(
      { services: { web: { preferred: [4000], range: { min: 4000, max: 4009 }, command: ['npx', 'vite'] } } },
      [],
    );
    const first = await t.child('npx vite --port 4000 --strictPort');
    // A stranger binds 4000 before vite does; vite --strictPort exits 1.
    t.machine.listen(4000, { pid: 777, command: 'nc -l 4000' });
    first.exit(1);
    const second = await t.child('npx vite --port 4001 --strictPort');
    expect(t.of('moved')).toEqual([
      expect.objectContaining({
        service: 'web',
        from: 4000,
        to: 4001,
        reason: expect.stringContaining('pid 777 (nc -l 4000)'),
      }),
    ]);
    // A move is not a restart: restart "no" would have stopped the stack.
    expect(t.of('failed')).toEqual([]);
    t.machine.bind(second, 4001);
    await until('web is ready', () => t.of('ready').length > 0);
    expect(t.of('ready')[0]!.port).toBe(4001);
  });
});

describe('a move and its process', () => {
  const WEB = {
    services: { web: { preferred: [4000], range: { min: 4000, max: 4009 }, command: 'node web.js' } },
  };

  /** web, slow to stop, is being moved off 4000, which a stranger took while it started. */
  async function moving() {
    const t = await stackOn(WEB);
    const first = await t.child('node web.js');
    first.stubborn = true;
    t.machine.listen(4000, { pid: 777, command: 'nc -l 4000' });
    await until('the move signals it', () => first.signals.includes('SIGTERM'));
    return { t, first };
  }

  it('a process that exits of itself while a move stops it is no crash, and the moved start is kept', async () => {
    const { t, first } = await moving();
    // npm under a move: it exits 1 of itself while vite, left in its group, is slow to stop.
    first.leftInGroup = true;
    first.exit(1);
    const second = await t.child('node web.js', 1);
    t.machine.bind(second, 4001);
    await until('web is ready on 4001', () => t.of('ready').some((e) => e.port === 4001));
    expect(t.of('failed')).toEqual([]);
    expect(t.of('exited')).toEqual([]);
    expect(second.running).toBe(true);
  });

  it('a stop that comes while a move stops the process ends the stack, without a second start', async () => {
    const { t, first } = await moving();
    t.stack.stop();
    first.exit(null, 'SIGTERM');
    expect(await t.stack.done).toEqual({ code: 0, failed: null });
    expect(t.machine.children).toHaveLength(1);
    expect(t.of('stopped').map((e) => e.service)).toEqual(['web']);
    expect(t.pm.leases()).toEqual([]);
  });
});

describe('readiness beyond the port', () => {
  const withDb = (ready: Record<string, unknown>) => ({
    services: {
      db: { preferred: [5000], requires: ['tcp' as const], command: 'node db.js', ready },
      api: { preferred: [3000], command: 'node api.js', dependsOn: ['db'] },
    },
  });

  it('output: the dependent starts only after the line, colour codes and all; a listener outside the tree is no stranger', async () => {
    const t = await stackOn(withDb({ pattern: 'ready to accept connections' }));
    const db = await t.child('node db.js');
    // docker's proxy, outside berth's tree, binds the port at once: not a stranger, not ready either.
    t.machine.listen(5000, { pid: 900, command: 'docker-proxy -host-port 5000' });
    db.print('starting up\n');
    await t.afterClock(50);
    expect(t.machine.children).toHaveLength(1);
    expect(t.of('moved')).toEqual([]);
    db.print('\u001b[32mLOG:\u001b[0m  database system is ready to accept connections\n', 'stderr');
    await t.child('node api.js');
    expect(t.of('ready').map((e) => e.service)).toEqual(['db']);
  });

  it('output: a line of the last run does not make a restart ready', async () => {
    const config = withDb({ pattern: '^ready$' });
    config.services.db = { ...config.services.db, restart: 'on-failure' } as typeof config.services.db;
    const t = await stackOn(config);
    const db = await t.child('node db.js');
    db.print('ready\n');
    await until('db is ready', () => t.of('ready').length === 1);
    const api = await t.child('node api.js');
    t.machine.bind(api, 3000);
    db.exit(1);
    const again = await t.child('node db.js', 1);
    await t.afterClock(50);
    expect(t.of('ready').filter((e) => e.service === 'db')).toHaveLength(1);
    again.print('ready\n');
    await until('db is ready again', () => t.of('ready').filter((e) => e.service === 'db').length === 2);
  });

  it('command: runs the check until it exits 0, with the port; the dependent waits for it', async () => {
    const t = await stackOn(withDb({ command: ['pg_isready', '-p', '{port}'], intervalMs: 100 }));
    await t.child('node db.js');
    const first = await t.child('pg_isready -p 5000');
    expect(first.env.PORT).toBe('5000');
    first.print('127.0.0.1:5000 - no response\n');
    first.exit(2);
    const second = await t.child('pg_isready -p 5000', 1);
    expect(t.machine.children.map((c) => c.request.command)).not.toContainEqual({
      kind: 'shell',
      line: 'node api.js',
    });
    second.exit(0);
    await t.child('node api.js');
    expect(t.of('ready').map((e) => e.service)).toEqual(['db']);
  });

  it('command: a check that outlives its timeoutMs is killed with its group', async () => {
    const t = await stackOn(withDb({ command: 'pg_isready -p $PORT', timeoutMs: 300 }));
    await t.child('node db.js');
    const check = await t.child('pg_isready -p $PORT');
    await until('the check is killed', () => !check.running);
    expect(check.signals).toEqual(['SIGKILL']);
  });
});

describe('a listener on the wrong port', () => {
  it("names the tree's process, its port, berth's port and the fix; nothing once berth's port is bound", async () => {
    const t = await stackOn(
      { services: { web: { preferred: [4000], command: 'vite', portArgs: false } } },
      [],
    );
    const web = await t.child('vite');
    // vite, not told the port, serves on 5174 (its child process, in the service's tree).
    t.machine.listen(5174, { pid: 6001, command: 'node /app/node_modules/.bin/vite', ppid: web.pid });
    await until('the warning', () => t.of('wrong-port').length > 0);
    expect(t.of('wrong-port')).toEqual([
      {
        type: 'wrong-port',
        service: 'web',
        port: 4000,
        pid: 6001,
        command: 'node /app/node_modules/.bin/vite',
        listening: 5174,
        fix: 'services.web has "portArgs": false; remove it so berth adds vite\'s flags, or write --port $PORT --strictPort in the command',
      },
    ]);
  });

  it('says nothing of a side port opened after the service bound its port, or of a process outside its tree', async () => {
    const t = await stackOn({ services: { web: { preferred: [4000], command: 'node server.js' } } });
    const web = await t.child('node server.js');
    t.machine.listen(7000, { pid: 901, command: 'someone else', ppid: 1 });
    t.machine.bind(web, 4000);
    await until('web is ready', () => t.of('ready').length > 0);
    t.machine.listen(9229, { pid: 6002, command: 'node server.js', ppid: web.pid });
    // Once web is ready no watch looks any more: the stack sleeps no longer (the clock stands
    // still over many turns of the event loop), so nothing can report the side port later.
    const clock = t.machine.clock;
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(t.machine.clock).toBe(clock);
    expect(t.of('wrong-port')).toEqual([]);
  });
});
