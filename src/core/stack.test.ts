import { describe, expect, it } from 'vitest';
import { serviceSpec } from '../../test/support/specs.js';
import { isBerthError } from '../errors.js';
import {
  advance,
  allGone,
  allUp,
  backoffMs,
  nextToStart,
  nextToStop,
  PENDING,
  type RunPhase,
  type StackGraph,
  stackGraph,
  type UnitEvent,
  type UnitState,
  whenExited,
} from './stack.js';
import type { ServiceSpec } from './types.js';

const svc = serviceSpec;

const cmd = (line: string) => ({ command: { kind: 'shell' as const, line } });

/** The stack: a db, an api that needs it, a web that needs the api, a websocket on the api's port. */
const STACK: ServiceSpec[] = [
  svc('web', {}, { ...cmd('node web.js'), dependsOn: ['api'] }),
  svc('api', {}, { ...cmd('node api.js'), dependsOn: ['db'] }),
  svc('websocket', { inheritFrom: 'api', requires: ['websocket'] }),
  svc('db', { requires: ['tcp'] }, cmd('node db.js')),
  svc('cache', { requires: ['tcp'] }),
];

const states = (entries: Record<string, RunPhase>): Map<string, UnitState> =>
  new Map(Object.entries(entries).map(([k, phase]) => [k, { phase, restarts: 0, exitCode: null }]));

describe('stackGraph', () => {
  it('orders units dependencies first and serves an inheriting service without a command with its target', () => {
    const graph = stackGraph(STACK, null);
    expect(graph.units.map((u) => [u.name, u.kind, u.dependsOn, u.serves])).toEqual([
      ['db', 'process', [], ['db']],
      ['api', 'process', ['db'], ['api', 'websocket']],
      ['web', 'process', ['api'], ['web']],
    ]);
    expect(graph.unitOf.get('websocket')).toBe('api');
    // cache has no command and nothing needs it: only leased.
    expect(graph.unitOf.has('cache')).toBe(false);
  });

  it('takes the selected services and what they need, transitively', () => {
    expect(stackGraph(STACK, ['api']).units.map((u) => u.name)).toEqual(['db', 'api']);
    expect(stackGraph(STACK, ['websocket']).units.map((u) => u.name)).toEqual(['db', 'api']);
  });

  it('makes a dependency without a command external: watched, never started', () => {
    const graph = stackGraph(
      [svc('cache', { requires: ['tcp'] }), svc('app', {}, { ...cmd('x'), dependsOn: ['cache'] })],
      null,
    );
    expect(graph.units.map((u) => [u.name, u.kind])).toEqual([
      ['cache', 'external'],
      ['app', 'process'],
    ]);
  });

  it('makes an inheriting service with its own command wait for its target', () => {
    const graph = stackGraph(
      [svc('ws', { inheritFrom: 'api' }, cmd('node ws.js')), svc('api', {}, cmd('node api.js'))],
      null,
    );
    expect(graph.units.map((u) => [u.name, u.dependsOn])).toEqual([
      ['api', []],
      ['ws', ['api']],
    ]);
  });

  it('refuses a selected service without a command, and a stack with nothing to run', () => {
    const error = (() => {
      try {
        stackGraph(STACK, ['cache']);
      } catch (e) {
        return e;
      }
    })();
    expect(isBerthError(error, 'E_USAGE')).toBe(true);
    expect((error as Error).message).toContain('cache has no command');
    expect(() => stackGraph([svc('a')], null)).toThrow(/no service has a command/);
  });
});

describe('the unit state machine', () => {
  const walk = (events: UnitEvent['type'][], from: UnitState = PENDING) =>
    events.reduce<UnitState>(
      (s, type) => advance(s, type === 'exit' ? { type, code: 1 } : ({ type } as UnitEvent)),
      from,
    );

  it('goes pending -> starting -> ready -> exited -> restarting -> starting', () => {
    expect(walk(['start', 'ready', 'exit', 'restart', 'start'])).toEqual({
      phase: 'starting',
      restarts: 1,
      exitCode: 1,
    });
  });

  it('stops a running unit through stopping, and one that is not running at once', () => {
    expect(walk(['start', 'ready', 'stop']).phase).toBe('stopping');
    expect(walk(['start', 'ready', 'stop', 'exit']).phase).toBe('stopped');
    expect(walk(['stop']).phase).toBe('stopped');
    expect(walk(['start', 'exit', 'restart', 'stop']).phase).toBe('stopped');
  });

  it('goes back to pending, without counting a restart, when its port must move', () => {
    expect(walk(['start', 'replan'])).toEqual({ phase: 'pending', restarts: 0, exitCode: null });
  });

  it.each([
    [['ready'], 'pending'],
    [['start', 'start'], 'starting'],
    [['restart'], 'pending'],
    [['start', 'ready', 'stop', 'ready'], 'stopping'],
  ] as const)('refuses the last of %j (a runner bug: it is %s then)', (events, _phase) => {
    expect(() => walk([...events])).toThrow(/cannot take/);
  });
});

describe('nextToStart', () => {
  const graph = stackGraph(STACK, null);

  it('starts what depends on nothing, then each unit once everything it depends on is ready', () => {
    expect(nextToStart(new Map(), graph)).toEqual(['db']);
    expect(nextToStart(states({ db: 'starting' }), graph)).toEqual([]);
    expect(nextToStart(states({ db: 'ready' }), graph)).toEqual(['api']);
    expect(nextToStart(states({ db: 'ready', api: 'ready' }), graph)).toEqual(['web']);
  });

  it('starts independent units together', () => {
    const wide = stackGraph(
      [
        svc('db', {}, cmd('d')),
        svc('a', {}, { ...cmd('a'), dependsOn: ['db'] }),
        svc('b', {}, { ...cmd('b'), dependsOn: ['db'] }),
      ],
      null,
    );
    expect(nextToStart(new Map(), wide)).toEqual(['db']);
    expect(nextToStart(states({ db: 'ready' }), wide)).toEqual(['a', 'b']);
  });

  it('does not start a dependent of a unit that is restarting', () => {
    expect(nextToStart(states({ db: 'restarting' }), graph)).toEqual([]);
  });
});

describe('nextToStop', () => {
  const graph = stackGraph(STACK, null);

  it('signals a unit only once everything that depends on it is gone', () => {
    const all = states({ db: 'ready', api: 'ready', web: 'ready' });
    expect(nextToStop(all, graph)).toEqual(['web']);
    expect(nextToStop(states({ db: 'ready', api: 'ready', web: 'stopping' }), graph)).toEqual([]);
    expect(nextToStop(states({ db: 'ready', api: 'ready', web: 'stopped' }), graph)).toEqual(['api']);
    expect(nextToStop(states({ db: 'ready', api: 'stopped', web: 'stopped' }), graph)).toEqual(['db']);
  });

  it('does not wait for dependents that never started or already exited', () => {
    expect(nextToStop(states({ db: 'ready', api: 'starting', web: 'pending' }), graph)).toEqual(['api']);
    expect(nextToStop(states({ db: 'ready', api: 'exited', web: 'stopped' }), graph)).toEqual(['db']);
  });
});

describe('allUp and allGone', () => {
  const graph: StackGraph = stackGraph([svc('migrate', {}, cmd('m')), svc('api', {}, cmd('a'))], null);

  it('counts a one-shot that exited 0 as up, and one that failed as not', () => {
    const done = states({ api: 'ready', migrate: 'exited' });
    done.set('migrate', { phase: 'exited', restarts: 0, exitCode: 0 });
    expect(allUp(done, graph)).toBe(true);
    done.set('migrate', { phase: 'exited', restarts: 0, exitCode: 1 });
    expect(allUp(done, graph)).toBe(false);
    expect(allUp(states({ api: 'ready' }), graph)).toBe(false);
  });

  it('is gone when every unit stopped or exited', () => {
    expect(allGone(states({ api: 'stopped', migrate: 'exited' }), graph)).toBe(true);
    expect(allGone(states({ api: 'stopping', migrate: 'exited' }), graph)).toBe(false);
  });
});

describe('backoffMs', () => {
  it('starts at 1 s, doubles, and stops at 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('whenExited', () => {
  const base = {
    restart: 'no' as const,
    maxRestarts: null,
    restarts: 0,
    code: 1,
    signal: null,
    dependents: [],
  };

  it.each([
    ['no, failed', {}, { action: 'stop-stack', reason: 'exited with code 1 (restart: "no")' }],
    ['no, exit 0, nothing depends on it (a one-shot)', { code: 0 }, { action: 'done' }],
    [
      'no, exit 0, but something depends on it',
      { code: 0, dependents: ['api'] },
      { action: 'stop-stack', reason: 'exited with code 0, but api depends on it (restart: "no")' },
    ],
    ['on-failure, failed', { restart: 'on-failure' }, { action: 'restart', delayMs: 1000 }],
    [
      'on-failure, third restart',
      { restart: 'on-failure', restarts: 2 },
      { action: 'restart', delayMs: 4000 },
    ],
    ['on-failure, exit 0', { restart: 'on-failure', code: 0 }, { action: 'done' }],
    [
      'on-failure, killed by a signal',
      { restart: 'on-failure', code: null, signal: 'SIGSEGV', maxRestarts: 0 },
      { action: 'stop-stack', reason: 'exited with signal SIGSEGV after 0 restarts (maxRestarts 0)' },
    ],
    ['always, exit 0', { restart: 'always', code: 0 }, { action: 'restart', delayMs: 1000 }],
    [
      'always, restarts used up',
      { restart: 'always', maxRestarts: 3, restarts: 3 },
      { action: 'stop-stack', reason: 'exited with code 1 after 3 restarts (maxRestarts 3)' },
    ],
  ] as const)('%s', (_name, over, expected) => {
    expect(whenExited({ ...base, ...over })).toEqual(expected);
  });
});
