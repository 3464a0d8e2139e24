/**
 * The runner's small units, each alone over a fake process (test/support/fake-child.ts)
 * or plain data: lines, readiness, the stop of a group, restart timers, recording, env.
 */
import { describe, expect, it } from 'vitest';
import { FakeChild, MemoryRunStore } from '../../../test/support/fake-child.js';
import { FakeMachine, SELF_PID } from '../../../test/support/fake-machine.js';
import { resolveConfig } from '../../config/load.js';
import { stackGraph } from '../../core/stack.js';
import { serviceEnv } from './env.js';
import { attachLines, LineSplitter } from './lines.js';
import { probeReadiness, waitUntilReady } from './readiness.js';
import { RunRecorder } from './record.js';
import { RestartTimers } from './restart.js';
import { stopGroup } from './stop.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function fakeChild(pid = 5000) {
  return new FakeChild(pid, { command: { kind: 'shell', line: 'x' }, cwd: '/', env: {} }, () => {});
}

describe('lines', () => {
  it('cuts chunks into whole lines, CRLF included, and keeps a partial line for later', () => {
    const s = new LineSplitter();
    expect(s.push('one\ntw')).toEqual(['one']);
    expect(s.push('o\r\nthr')).toEqual(['two']);
    expect(s.flush()).toBe('thr');
    expect(s.flush()).toBeNull();
  });

  it('keeps stdout and stderr apart and sends the last unterminated line at exit', async () => {
    const child = fakeChild();
    const lines: string[] = [];
    attachLines(child, (stream, line) => lines.push(`${stream}:${line}`));
    child.print('a1\na');
    child.print('b1 part', 'stderr');
    child.print('2\n');
    child.print(' and rest\n', 'stderr');
    child.print('no newline');
    child.exit(0);
    await tick();
    expect(lines).toEqual(['stdout:a1', 'stdout:a2', 'stderr:b1 part and rest', 'stdout:no newline']);
  });
});

describe('readiness', () => {
  const tcp = { type: 'tcp' as const, path: '/', expectStatus: null, intervalMs: 1000, timeoutMs: 1000 };
  const http = { ...tcp, type: 'http' as const };

  it('waits while nothing listens, and is ready once the stack tree binds the port', async () => {
    const machine = new FakeMachine();
    const adapters = machine.adapters();
    const target = { port: 3000, check: null, ancestor: SELF_PID };
    expect(await probeReadiness(adapters, target)).toEqual({
      state: 'waiting',
      reason: 'nothing listens on port 3000 yet',
    });
    machine.listen(3000, { pid: 5000, command: 'node api.js', ppid: SELF_PID });
    expect(await probeReadiness(adapters, target)).toEqual({ state: 'ready' });
  });

  it('never counts a stranger as ready: the port is taken', async () => {
    const machine = new FakeMachine();
    machine.listen(3000, { pid: 900, command: 'nc -l 3000' });
    expect(await probeReadiness(machine.adapters(), { port: 3000, check: tcp, ancestor: SELF_PID })).toEqual({
      state: 'taken',
      holder: 'pid 900 (nc -l 3000)',
    });
  });

  it('runs the ready check once the port is bound, and says why it fails', async () => {
    const machine = new FakeMachine();
    machine.listen(3000, { pid: 5000, command: 'node api.js', ppid: SELF_PID });
    machine.health.set(3000, { status: 'unhealthy', reason: 'GET / answered 503', latencyMs: 1 });
    const target = { port: 3000, check: http, ancestor: SELF_PID };
    expect(await probeReadiness(machine.adapters(), target)).toEqual({
      state: 'waiting',
      reason: 'GET / answered 503',
    });
    machine.health.set(3000, { status: 'healthy', reason: null, latencyMs: 1 });
    expect(await probeReadiness(machine.adapters(), target)).toEqual({ state: 'ready' });
  });

  it('lets anyone serve a service berth does not start', async () => {
    const machine = new FakeMachine();
    machine.listen(6379, { pid: 900, command: 'redis-server' });
    expect(await probeReadiness(machine.adapters(), { port: 6379, check: null, ancestor: null })).toEqual({
      state: 'ready',
    });
  });

  it('probes until ready, says once that it is slow, and stops when aborted', async () => {
    let clock = 0;
    const answers = [
      { state: 'waiting', reason: 'nothing yet' },
      { state: 'waiting', reason: 'still nothing' },
      { state: 'ready' },
    ] as const;
    const slow: string[] = [];
    const controller = new AbortController();
    const result = await waitUntilReady(async () => answers[Math.min(clock++, 2)]!, {
      intervalMs: 100,
      signal: controller.signal,
      sleep: async () => {},
      now: () => clock * 6000,
      slowMs: 10_000,
      onSlow: (reason) => slow.push(reason),
    });
    expect(result).toEqual({ state: 'ready' });
    expect(slow).toEqual(['still nothing']);
    controller.abort();
    expect(
      await waitUntilReady(async () => ({ state: 'waiting', reason: 'x' }), {
        intervalMs: 1,
        signal: controller.signal,
        sleep: async () => {},
        now: () => 0,
      }),
    ).toBeNull();
  });
});

describe('stopGroup', () => {
  function setup(stubborn = false) {
    const machine = new FakeMachine();
    const child = fakeChild();
    child.stubborn = stubborn;
    machine.children.push(child);
    let now = 0;
    const options = {
      signal: 'SIGINT' as const,
      timeoutMs: 1000,
      hurry: new Promise<void>(() => {}),
      sleep: async (ms: number) => {
        now += ms;
        await tick();
      },
      now: () => now,
    };
    return { groups: machine.adapters().groups, child, options, elapsed: () => now };
  }

  it('sends the stop signal to the group and is done when the group is gone', async () => {
    const { groups, child, options } = setup();
    expect(await stopGroup(groups, child, child.exited, options)).toEqual({ how: 'stopped' });
    expect(child.signals).toEqual(['SIGINT']);
  });

  it('sends SIGKILL when the group outlives the stop timeout', async () => {
    const { groups, child, options, elapsed } = setup(true);
    expect(await stopGroup(groups, child, child.exited, options)).toEqual({ how: 'killed', afterMs: 1000 });
    expect(child.signals).toEqual(['SIGINT', 'SIGKILL']);
    expect(elapsed()).toBeLessThan(1200);
  });

  it('kills at once when hurried (a second Ctrl-C)', async () => {
    const { groups, child, options } = setup(true);
    const outcome = await stopGroup(groups, child, child.exited, { ...options, hurry: Promise.resolve() });
    expect(outcome.how).toBe('killed');
    expect(child.signals).toEqual(['SIGINT', 'SIGKILL']);
  });

  it('watches a group it is not the parent of (what a killed berth up left), and knows one already gone', async () => {
    const { groups, child, options } = setup();
    expect(await stopGroup(groups, child, null, options)).toEqual({ how: 'stopped' });
    expect(await stopGroup(groups, child, null, options)).toEqual({ how: 'gone' });
  });
});

describe('RestartTimers', () => {
  it('runs a scheduled restart after its delay, unless the stack stops first', async () => {
    const delays: number[] = [];
    const timers = new RestartTimers(async (ms, signal) => {
      delays.push(ms);
      await tick();
      if (signal.aborted) throw new Error('aborted');
    });
    const ran: string[] = [];
    timers.schedule('api', 1000, () => ran.push('api'));
    expect(timers.waiting('api')).toBe(true);
    await tick();
    await tick();
    expect(ran).toEqual(['api']);
    timers.schedule('db', 2000, () => ran.push('db'));
    timers.cancelAll();
    await tick();
    await tick();
    expect(ran).toEqual(['api']);
    expect(delays).toEqual([1000, 2000]);
  });
});

describe('RunRecorder and serviceEnv', () => {
  const { config } = resolveConfig(
    {
      services: {
        api: { preferred: [3000], command: 'node api.js', stopSignal: 'SIGINT', env: { NODE_ENV: 'test' } },
        websocket: { inheritFrom: 'api', requires: ['websocket'] },
        db: { preferred: [5432], requires: ['tcp'], portEnv: 'PGPORT' },
      },
    },
    { cwd: '/tmp', environment: 'development' },
  );

  it('writes one row per service a unit stands for', () => {
    const store = new MemoryRunStore();
    const recorder = new RunRecorder(store, config, { pid: 4000, startTime: 't4000' }, () => 42);
    const api = stackGraph(config.services, null).units[0]!;
    recorder.record(
      api,
      { phase: 'ready', restarts: 1, exitCode: null },
      { pid: 5000, pgid: 5000, startTime: 't5000' },
    );
    expect(
      store.allRuns().map((r) => [r.service, r.unit, r.phase, r.group?.pid, r.restarts, r.stopSignal]),
    ).toEqual([
      ['api', 'api', 'ready', 5000, 1, 'SIGINT'],
      ['websocket', 'api', 'ready', 5000, 1, 'SIGINT'],
    ]);
    recorder.clear();
    expect(store.allRuns()).toEqual([]);
  });

  it("gives a command berth's variables over its own env and the inherited ones, and its own PORT", () => {
    const env = serviceEnv(
      { PATH: '/bin', API_PORT: 'stale', GONE: undefined },
      config,
      new Map([
        ['api', 3000],
        ['websocket', 3000],
        ['db', 5432],
      ]),
      'api',
    );
    expect(env).toEqual({
      PATH: '/bin',
      NODE_ENV: 'test',
      PORT: '3000',
      API_PORT: '3000',
      API_URL: 'http://localhost:3000',
      WEBSOCKET_PORT: '3000',
      WEBSOCKET_URL: 'ws://localhost:3000',
      PGPORT: '5432',
      DB_URL: 'tcp://localhost:5432',
    });
  });
});
