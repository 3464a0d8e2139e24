/**
 * The stack runner on a fake machine (test/support/fake-machine.ts): fake
 * processes the test drives (bind a port, crash, ignore a signal), a real
 * SQLite registry in a temp folder. Time runs on the machine's clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine, SELF_PID } from '../../../test/support/fake-machine.js';
import {
  cleanUpStacks,
  commandOf,
  machineSleep,
  managerOn,
  stackOn,
  until,
} from '../../../test/support/stack-on.js';
import type { UserConfig } from '../../config/define.js';
import type { RunPhase } from '../../core/stack.js';
import { BerthError, isBerthError } from '../../errors.js';
import { downStack } from './down.js';
import type { StackEvent } from './events.js';
import { startStack } from './start.js';

afterEach(cleanUpStacks);

/** The stack: a db, an api that needs it, a web that needs the api, a websocket on the api's port. */
const THREE_LEVELS: UserConfig = {
  services: {
    db: { preferred: [5000], range: { min: 5000, max: 5009 }, requires: ['tcp'], command: 'node db.js' },
    api: { preferred: [3000], range: { min: 3000, max: 3009 }, command: 'node api.js', dependsOn: ['db'] },
    websocket: { inheritFrom: 'api', requires: ['websocket'] },
    web: {
      preferred: [4000],
      range: { min: 4000, max: 4009 },
      command: ['node', 'web.js'],
      dependsOn: ['api'],
    },
  },
};

/** Starts THREE_LEVELS and brings every service up. */
async function upThreeLevels(config: UserConfig = THREE_LEVELS) {
  const t = await stackOn(config);
  const db = await t.child('node db.js');
  t.machine.bind(db, 5000);
  const api = await t.child('node api.js');
  t.machine.bind(api, 3000);
  const web = await t.child('node web.js');
  t.machine.bind(web, 4000);
  await until('everything is up', () => t.of('up').length > 0);
  return { ...t, db, api, web };
}

describe('berth up on a fake machine', () => {
  it('starts each service only once what it depends on is ready, with PORT and every variable', async () => {
    const t = await stackOn(THREE_LEVELS);
    expect(t.of('assigned')[0]!.decisions.map((d) => d.message)).toContain(
      'db assigned port 5000 (preferred)',
    );
    const db = await t.child('node db.js');
    // Nothing else starts while the db is not ready: ten of the runner's looks.
    await t.afterClock(50);
    expect(t.machine.children).toHaveLength(1);
    expect(db.env).toMatchObject({
      PORT: '5000',
      API_PORT: '3000',
      WEB_URL: 'http://localhost:4000',
      PATH: '/usr/bin',
    });
    t.machine.bind(db, 5000);
    const api = await t.child('node api.js');
    expect(api.env).toMatchObject({
      PORT: '3000',
      DB_PORT: '5000',
      DB_URL: 'tcp://localhost:5000',
      WEBSOCKET_URL: 'ws://localhost:3000',
    });
    expect(t.machine.children).toHaveLength(2);
    t.machine.bind(api, 3000);
    const web = await t.child('node web.js');
    expect(web.request.command).toEqual({ kind: 'exec', argv: ['node', 'web.js'] });
    t.machine.bind(web, 4000);
    await until('everything is up', () => t.of('up').length > 0);
    expect(t.of('starting').map((e) => e.service)).toEqual(['db', 'api', 'web']);
    expect(t.of('up')[0]!.services.map((s) => [s.service, s.port, s.url])).toEqual([
      ['db', 5000, 'tcp://localhost:5000'],
      ['api', 3000, 'http://localhost:3000'],
      ['websocket', 3000, 'ws://localhost:3000'],
      ['web', 4000, 'http://localhost:4000'],
    ]);
  });

  it("ties each service's leases to its process, and records the run state the dashboard reads", async () => {
    const t = await upThreeLevels();
    const owners = Object.fromEntries(t.pm.leases().map((l) => [l.service, l.owner?.pid]));
    expect(owners).toEqual({ db: t.db.pid, api: t.api.pid, websocket: t.api.pid, web: t.web.pid });
    const rows = Object.fromEntries(
      t.machine.runs.allRuns().map((r) => [r.service, [r.phase, r.group?.pid, r.unit]]),
    );
    expect(rows).toEqual({
      db: ['ready', t.db.pid, 'db'],
      api: ['ready', t.api.pid, 'api'],
      websocket: ['ready', t.api.pid, 'api'],
      web: ['ready', t.web.pid, 'web'],
    });
    expect(t.machine.runs.allRuns().every((r) => r.runner.pid === SELF_PID)).toBe(true);
  });

  it('prefixes nothing itself but hands on whole lines, each with its service and stream', async () => {
    const t = await stackOn(THREE_LEVELS);
    const db = await t.child('node db.js');
    db.print('listening ');
    db.print('on 5000\nwarn', 'stdout');
    db.print('oops\n', 'stderr');
    await until('lines arrive', () => t.of('output').length >= 2);
    expect(t.of('output').map((e) => [e.service, e.stream, e.line])).toEqual([
      ['db', 'stdout', 'listening on 5000'],
      ['db', 'stderr', 'oops'],
    ]);
  });

  it('stops in reverse dependency order, releases the leases and removes its rows', async () => {
    const t = await upThreeLevels();
    t.stack.stop();
    const outcome = await t.stack.done;
    expect(outcome).toEqual({ code: 0, failed: null });
    expect(t.machine.groupSignals).toEqual([
      `${t.web.pid}:SIGTERM`,
      `${t.api.pid}:SIGTERM`,
      `${t.db.pid}:SIGTERM`,
    ]);
    expect(t.of('stopped').map((e) => e.service)).toEqual(['web', 'api', 'db']);
    expect(t.pm.leases()).toEqual([]);
    expect(t.machine.runs.allRuns()).toEqual([]);
  });

  it('signals a service only after everything that depends on it has exited', async () => {
    const t = await upThreeLevels();
    t.web.stubborn = true;
    t.stack.stop();
    await until('web is signalled', () => t.web.signals.length > 0);
    await t.afterClock(50);
    expect(t.api.signals).toEqual([]);
    t.web.exit(0);
    await t.stack.done;
    expect(t.api.signals).toEqual(['SIGTERM']);
  });

  it('sends SIGKILL to a service that outlives its stopTimeout, and to everything at once on a second stop', async () => {
    const t = await upThreeLevels({
      ...THREE_LEVELS,
      services: {
        ...THREE_LEVELS.services,
        web: { ...THREE_LEVELS.services.web, stopTimeout: 2000, stopSignal: 'SIGINT' },
      },
    });
    t.web.stubborn = true;
    t.stack.stop();
    await t.stack.done;
    expect(t.web.signals).toEqual(['SIGINT', 'SIGKILL']);
    expect(t.of('killed')).toEqual([{ type: 'killed', service: 'web', afterMs: 2000 }]);

    const again = await upThreeLevels();
    for (const c of [again.web, again.api, again.db]) c.stubborn = true;
    again.web.stubborn = true;
    again.stack.stop();
    again.stack.stop();
    await again.stack.done;
    expect(again.db.signals).toEqual(['SIGKILL']);
    expect(again.api.signals).toEqual(['SIGKILL']);
  });

  it('keeps running through a registry outage: a crash meanwhile restarts once the registry answers', async () => {
    const config: UserConfig = {
      services: {
        api: { preferred: [3000], command: 'node api.js', restart: 'on-failure', maxRestarts: 3 },
      },
    };
    const t = await stackOn(config);
    const api = await t.child('node api.js');
    t.machine.bind(api, 3000);
    await until('api is up', () => t.of('up').length > 0);
    // The registry stops answering, as an etcd without a quorum does.
    const registry = t.pm.adapters.registry;
    const real = registry.transaction.bind(registry);
    let down = true;
    let refused = 0;
    registry.transaction = ((fn: Parameters<typeof real>[0], options?: Parameters<typeof real>[1]) => {
      if (!down) return real(fn, options);
      refused++;
      return Promise.reject(new BerthError('E_REGISTRY', 'the etcd registry etcd://e:2379 did not answer.'));
    }) as typeof registry.transaction;
    api.exit(1);
    await until('berth up says it waits for the registry', () =>
      t.of('waiting').some((e) => e.reason.includes('did not answer')),
    );
    await until('it tried again', () => refused >= 3);
    expect(t.machine.children.filter((c) => commandOf(c) === 'node api.js')).toHaveLength(1);
    expect(t.stack.phases().api).not.toBe('exited');
    down = false;
    const again = await t.child('node api.js', 1);
    t.machine.bind(again, 3000);
    await until('api is ready again', () => t.of('ready').length >= 2);
    expect(t.pm.leases().find((l) => l.service === 'api')!.owner?.pid).toBe(again.pid);
    expect(t.of('failed')).toEqual([]);
    t.stack.stop();
    expect(await t.stack.done).toEqual({ code: 0, failed: null });
  });

  it('restarts a service that crashes, with on-failure and back-off, counting restarts, until maxRestarts', async () => {
    const config: UserConfig = {
      services: {
        db: { preferred: [5000], requires: ['tcp'], command: 'node db.js' },
        api: { preferred: [3000], command: 'node api.js', restart: 'on-failure', maxRestarts: 1 },
      },
    };
    const t = await stackOn(config);
    const api = await t.child('node api.js');
    api.exit(1);
    const again = await t.child('node api.js', 1);
    expect(t.of('restarting')).toEqual([
      { type: 'restarting', service: 'api', delayMs: 1000, restarts: 1, maxRestarts: 1 },
    ]);
    expect(
      t
        .of('starting')
        .filter((e) => e.service === 'api')
        .map((e) => e.restarts),
    ).toEqual([0, 1]);
    // While it waited, its lease belonged to berth up, so nobody could take the port.
    expect(t.pm.leases().find((l) => l.service === 'api')!.owner?.pid).toBe(again.pid);
    again.exit(1);
    const outcome = await t.stack.done;
    expect(outcome).toEqual({
      code: 1,
      failed: { service: 'api', reason: 'exited with code 1 after 1 restart (maxRestarts 1)' },
    });
  });

  it('stops the whole stack, naming the service, when one without a restart policy exits', async () => {
    const t = await upThreeLevels();
    t.api.exit(2);
    const outcome = await t.stack.done;
    expect(outcome.failed).toEqual({ service: 'api', reason: 'exited with code 2 (restart: "no")' });
    expect(t.web.signals).toEqual(['SIGTERM']);
    expect(t.db.signals).toEqual(['SIGTERM']);
  });

  it('lets a one-shot that nothing depends on finish with 0, and sums up without it', async () => {
    const t = await stackOn({
      services: {
        migrate: { preferred: [5100], command: 'node migrate.js' },
        api: { preferred: [3000], command: 'node api.js' },
      },
    });
    (await t.child('node migrate.js')).exit(0);
    t.machine.bind(await t.child('node api.js'), 3000);
    await until('up', () => t.of('up').length > 0);
    expect(t.of('up')[0]!.services.find((s) => s.service === 'migrate')!.readyMs).toBeNull();
    expect(t.of('failed')).toEqual([]);
    t.stack.stop();
    expect((await t.stack.done).code).toBe(0);
  });

  it('ends on its own, with 0, when every service was a one-shot that finished', async () => {
    const t = await stackOn({ services: { migrate: { preferred: [5100], command: 'node migrate.js' } } });
    (await t.child('node migrate.js')).exit(0);
    expect(await t.stack.done).toEqual({ code: 0, failed: null });
  });

  it('moves a service whose port a stranger took before it started, and says why', async () => {
    const t = await stackOn(THREE_LEVELS);
    const db = await t.child('node db.js');
    t.machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    t.machine.bind(db, 5000);
    const api = await t.child('node api.js');
    expect(api.env.PORT).toBe('3001');
    expect(api.env.WEBSOCKET_PORT).toBe('3001');
    expect(t.of('moved')).toEqual([
      {
        type: 'moved',
        service: 'api',
        from: 3000,
        to: 3001,
        reason: expect.stringContaining('3000 taken by pid 900 (nc -l 3000)'),
      },
    ]);
    t.machine.bind(api, 3001);
    await until('api ready', () => t.of('ready').some((e) => e.service === 'api'));
    expect(t.of('ready').find((e) => e.service === 'api')!.port).toBe(3001);
  });

  it('moves a service whose port a stranger takes while it starts, without counting a restart', async () => {
    const t = await stackOn(THREE_LEVELS);
    t.machine.bind(await t.child('node db.js'), 5000);
    const api = await t.child('node api.js');
    t.machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    const moved = await t.child('node api.js', 1);
    expect(api.signals).toEqual(['SIGTERM']);
    expect(moved.env.PORT).toBe('3001');
    expect(t.of('moved')).toHaveLength(1);
    expect(t.of('restarting')).toEqual([]);
    expect(t.of('starting').map((e) => e.restarts)).toEqual([0, 0, 0]);
  });

  it('fails, naming the holder, when a stranger takes the port and autoReassign is off', async () => {
    const t = await stackOn({ ...THREE_LEVELS, autoReassign: false });
    const db = await t.child('node db.js');
    t.machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    t.machine.bind(db, 5000);
    const outcome = await t.stack.done;
    expect(outcome.failed).toEqual({
      service: 'api',
      reason:
        "api's port 3000 is taken by pid 900 (nc -l 3000), a process berth did not lease. Stop it (berth free 3000) or set autoReassign: true to move api.",
    });
  });

  it('waits for a dependency berth does not start, and lets anyone serve it', async () => {
    const t = await stackOn({
      services: {
        cache: { preferred: [6379], requires: ['tcp'] },
        api: { preferred: [3000], command: 'node api.js', dependsOn: ['cache'] },
      },
    });
    await until('cache is watched', () => t.of('watching').length > 0);
    expect(t.machine.children).toEqual([]);
    t.machine.listen(6379, { pid: 901, command: 'redis-server' });
    await t.child('node api.js');
    t.stack.stop();
    await t.stack.done;
    // berth did not start the cache, so it does not signal it; it leased its port, so it gives it back.
    expect(t.machine.groupSignals.some((s) => s.startsWith('901:'))).toBe(false);
    expect(t.pm.leases()).toEqual([]);
  });

  it('keeps the lease of a service without a command that was leased before berth up', async () => {
    const machine = new FakeMachine();
    const config = {
      enableHealthChecks: false,
      services: {
        cache: { preferred: [6379], requires: ['tcp' as const] },
        api: { preferred: [3000], command: 'node api.js' },
      },
    };
    const pm = await managerOn(machine, config);
    await pm.assign('cache');
    const stack = await startStack(pm, {
      services: [],
      emit: () => {},
      env: {},
      sleep: machineSleep(machine),
      pollMs: 5,
    });
    await until('api starts', () => machine.children.length > 0);
    stack.stop();
    await stack.done;
    // A `berth assign` made before berth up is the user's: it outlives the stack.
    expect(pm.leases().map((l) => l.service)).toEqual(['cache']);
  });

  it('starts only the named services and what they need', async () => {
    const t = await stackOn(THREE_LEVELS, ['api']);
    expect(t.stack.units).toEqual(['db', 'api']);
    t.machine.bind(await t.child('node db.js'), 5000);
    t.machine.bind(await t.child('node api.js'), 3000);
    await until('up', () => t.of('up').length > 0);
    expect(t.machine.children.map(commandOf)).toEqual(['node db.js', 'node api.js']);
  });
});

describe('berth down on a fake machine', () => {
  it('stops what a killed berth up left, in reverse dependency order, and releases the leases', async () => {
    const t = await upThreeLevels();
    // The runner dies without a word: its rows now name a dead process.
    const dead = { pid: 777, startTime: 't777' };
    for (const row of t.machine.runs.allRuns()) t.machine.runs.put({ ...row, runner: dead });
    const lines: StackEvent[] = [];
    const result = await downStack(t.pm, { emit: (e) => lines.push(e), sleep: machineSleep(t.machine) });
    expect(result).toEqual({ state: 'stopped-orphans', runner: dead, services: ['db', 'api', 'web'] });
    expect(t.machine.groupSignals).toEqual([
      `${t.web.pid}:SIGTERM`,
      `${t.api.pid}:SIGTERM`,
      `${t.db.pid}:SIGTERM`,
    ]);
    expect(lines.filter((e) => e.type === 'stopped').map((e) => (e as { service: string }).service)).toEqual([
      'web',
      'api',
      'db',
    ]);
    expect(t.pm.leases()).toEqual([]);
    expect(t.machine.runs.allRuns()).toEqual([]);
  });

  it('asks a running berth up to stop, and says when nothing runs', async () => {
    const machine = new FakeMachine();
    const pm = await managerOn(machine, THREE_LEVELS);
    expect(await downStack(pm, { emit: () => {} })).toEqual({ state: 'none' });
    const runner = machine.spawn({ pid: 777, command: 'berth up' });
    const row = (service: string, unit: string, phase: RunPhase, pid: number | null) =>
      machine.runs.put({
        project: 'x',
        dir: pm.config.dir,
        environment: pm.config.environment,
        service,
        unit,
        phase,
        group: pid === null ? null : { pid, pgid: pid, startTime: `t${pid}` },
        restarts: 0,
        exitCode: null,
        runner: machine.owner(runner.pid),
        stopSignal: 'SIGTERM',
        stopTimeoutMs: 1000,
        updatedAt: 1,
      });
    row('db', 'db', 'ready', 801);
    row('api', 'api', 'ready', 802);
    row('websocket', 'api', 'ready', 802); // served by api's process: not a unit of its own
    row('cache', 'cache', 'ready', null); // watched, not run by berth up
    row('migrate', 'migrate', 'exited', null); // a one-shot task that already ended
    const result = await downStack(pm, { emit: () => {} });
    // berth down --json lists these: the services whose processes that berth up stopped.
    expect(result).toEqual({ state: 'stopped', runner: machine.owner(777), services: ['db', 'api'] });
    expect(machine.stopped).toEqual([777]);
  });

  it('refuses a second berth up while a killed one left processes', async () => {
    const t = await upThreeLevels();
    for (const row of t.machine.runs.allRuns())
      t.machine.runs.put({ ...row, runner: { pid: 777, startTime: 't777' } });
    const error = await startStack(t.pm, { services: [], emit: () => {} }).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_REFUSED')).toBe(true);
    expect((error as Error).message).toContain('Stop them with `berth down` first');
  });
});
