import { describe, expect, it } from 'vitest';
import { serviceSpec } from '../../test/support/specs.js';
import { isBerthError } from '../errors.js';
import {
  advance,
  allGone,
  allUp,
  backoffMs,
  initialStack,
  nextToStart,
  nextToStop,
  PENDING,
  type RunPhase,
  type StackEffect,
  type StackGraph,
  type StackInput,
  type StackState,
  stackGraph,
  stackRules,
  step,
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

describe('the stack machine', () => {
  const three = (over: { autoReassign?: boolean; api?: Partial<ServiceSpec['run']> } = {}) => {
    const services = [
      svc('db', { requires: ['tcp'] }, cmd('node db.js')),
      svc('api', {}, { ...cmd('node api.js'), dependsOn: ['db'], ...over.api }),
      svc('websocket', { inheritFrom: 'api', requires: ['websocket'] }),
      svc('web', {}, { ...cmd('node web.js'), dependsOn: ['api'] }),
    ];
    const graph = stackGraph(services, null);
    return stackRules(graph, services, over.autoReassign ?? true);
  };

  /** Feeds `inputs` in turn; the last state and every effect, in order. */
  const feed = (rules: ReturnType<typeof three>, inputs: StackInput[], from?: StackState) => {
    let state = from ?? initialStack(rules.graph);
    const effects: StackEffect[] = [];
    for (const input of inputs) {
      const out = step(state, rules, input);
      state = out.state;
      effects.push(...out.effects);
    }
    return { state, effects };
  };
  const only = (effects: StackEffect[], ...types: StackEffect['type'][]) =>
    effects.filter((e) => types.includes(e.type));
  const phase = (state: StackState, unit: string) => state.units.get(unit)?.phase;
  /** db, api and web started and ready (at 10, 20, 30; each ready 5 ms later). */
  const up: StackInput[] = ['db', 'api', 'web'].flatMap((unit, i) => [
    { type: 'started', unit, at: 10 * (i + 1) },
    { type: 'launched', unit },
    { type: 'ready', unit, at: 10 * (i + 1) + 5 },
  ]);

  it('records every unit, launches what depends on nothing, then each unit once what it needs is ready', () => {
    const rules = three();
    const begun = feed(rules, [{ type: 'begin' }]);
    expect(begun.effects).toEqual([
      { type: 'record', unit: 'db' },
      { type: 'record', unit: 'api' },
      { type: 'record', unit: 'web' },
      { type: 'launch', unit: 'db', takenBy: null },
    ]);
    expect(begun.state.units.get('db')?.launching).toBe(true);
    const dbUp = feed(rules, up.slice(0, 3), begun.state);
    expect(only(dbUp.effects, 'launch', 'ready')).toEqual([
      { type: 'ready', unit: 'db', ms: 5 },
      { type: 'launch', unit: 'api', takenBy: null },
    ]);
  });

  it('sums up once, when every unit is ready, with how long each took', () => {
    const { state, effects } = feed(three(), [{ type: 'begin' }, ...up]);
    expect(only(effects, 'summary')).toHaveLength(1);
    expect(effects.at(-1)).toEqual({ type: 'summary' });
    expect([...state.units.values()].map((u) => u.readyMs)).toEqual([5, 5, 5]);
  });

  it('does not launch a unit twice while its launch has not settled', () => {
    const rules = three();
    const { state } = feed(rules, [{ type: 'begin' }]);
    // db is still launching: nothing new starts, whatever else happens.
    expect(only(step(state, rules, { type: 'fail', unit: 'x', reason: 'y' }).effects, 'launch')).toEqual([]);
    expect(only(feed(rules, [{ type: 'begin' }]).effects, 'launch')).toHaveLength(1);
  });

  it('stops in reverse dependency order: each unit is signalled once its dependents are gone, then finishes', () => {
    const rules = three();
    const running = feed(rules, [{ type: 'begin' }, ...up]).state;
    const stop = feed(rules, [{ type: 'stop' }], running);
    expect(only(stop.effects, 'cancel', 'signal')).toEqual([
      { type: 'cancel' },
      { type: 'signal', unit: 'web' },
    ]);
    expect(phase(stop.state, 'web')).toBe('stopping');
    const exit = (unit: string): StackInput => ({ type: 'exit', unit, code: 0, signal: null, taken: null });
    const web = feed(rules, [exit('web')], stop.state);
    expect(only(web.effects, 'notice', 'signal')).toEqual([
      { type: 'notice', notice: { type: 'stopped', service: 'web', code: 0, signal: null } },
      { type: 'signal', unit: 'api' },
    ]);
    const down = feed(rules, [exit('api'), exit('db')], web.state);
    expect(down.effects.at(-1)).toEqual({ type: 'finish' });
    expect(down.state.mode).toBe('finishing');
    expect(down.state.failure).toBeNull();
  });

  it('waits for a launch in flight before it finishes, and stops at once what never started', () => {
    const rules = three();
    const { state, effects } = feed(rules, [{ type: 'begin' }, { type: 'stop' }]);
    // db is being launched: nothing runs, so nothing is signalled, but the stack is not down yet.
    expect(only(effects, 'signal', 'finish')).toEqual([]);
    expect(phase(state, 'api')).toBe('stopped');
    const settled = feed(rules, [{ type: 'launched', unit: 'db' }], state);
    expect(settled.effects).toEqual([{ type: 'finish' }]);
  });

  it('on a second stop kills everything still running, saying so for those not yet signalled', () => {
    const rules = three();
    const running = feed(rules, [{ type: 'begin' }, ...up]).state;
    const { effects } = feed(rules, [{ type: 'stop' }, { type: 'stop' }], running);
    expect(only(effects, 'notice', 'kill-all')).toEqual([
      { type: 'notice', notice: { type: 'killed', service: 'db', afterMs: 0 } },
      { type: 'notice', notice: { type: 'killed', service: 'api', afterMs: 0 } },
      { type: 'kill-all' },
    ]);
  });

  it('restarts after a back-off with on-failure, counting, until maxRestarts; then the stack fails', () => {
    const rules = three({ api: { restart: 'on-failure', maxRestarts: 1 } });
    const running = feed(rules, [{ type: 'begin' }, ...up]).state;
    const crash: StackInput = { type: 'exit', unit: 'api', code: 1, signal: null, taken: null };
    const first = feed(rules, [crash], running);
    expect(only(first.effects, 'notice', 'back-off')).toEqual([
      { type: 'notice', notice: { type: 'exited', service: 'api', code: 1, signal: null } },
      {
        type: 'notice',
        notice: { type: 'restarting', service: 'api', delayMs: 1000, restarts: 1, maxRestarts: 1 },
      },
      { type: 'back-off', unit: 'api', delayMs: 1000 },
    ]);
    const again = feed(rules, [{ type: 'restart-due', unit: 'api' }], first.state);
    expect(again.effects).toEqual([{ type: 'launch', unit: 'api', takenBy: null }]);
    const second = feed(
      rules,
      [{ type: 'started', unit: 'api', at: 100 }, { type: 'launched', unit: 'api' }, crash],
      again.state,
    );
    expect(second.state.failure).toEqual({
      service: 'api',
      reason: 'exited with code 1 after 1 restart (maxRestarts 1)',
    });
    // api is gone, so db need not wait for it.
    expect(only(second.effects, 'signal')).toEqual([
      { type: 'signal', unit: 'web' },
      { type: 'signal', unit: 'db' },
    ]);
  });

  it('does not restart once the stack stops, and a back-off that ends then launches nothing', () => {
    const rules = three({ api: { restart: 'always' } });
    const running = feed(rules, [{ type: 'begin' }, ...up]).state;
    const { state, effects } = feed(
      rules,
      [
        { type: 'exit', unit: 'api', code: 1, signal: null, taken: null },
        { type: 'stop' },
        { type: 'restart-due', unit: 'api' },
      ],
      running,
    );
    expect(only(effects, 'launch')).toEqual([]);
    expect(phase(state, 'api')).toBe('stopped');
  });

  it('fails the stack, naming the unit, when one without a restart policy exits; a second failure is not reported', () => {
    const rules = three();
    const running = feed(rules, [{ type: 'begin' }, ...up]).state;
    const { state, effects } = feed(
      rules,
      [
        { type: 'exit', unit: 'api', code: 2, signal: null, taken: null },
        { type: 'fail', unit: 'db', reason: 'later' },
      ],
      running,
    );
    expect(state.failure).toEqual({ service: 'api', reason: 'exited with code 2 (restart: "no")' });
    expect(
      only(effects, 'notice').filter((e) => e.type === 'notice' && e.notice.type === 'failed'),
    ).toHaveLength(1);
    expect(state.mode).toBe('stopping');
  });

  it('lets a one-shot that nothing depends on finish, and ends when it was all there was', () => {
    const services = [svc('migrate', {}, cmd('node migrate.js'))];
    const rules = stackRules(stackGraph(services, null), services, true);
    const { state, effects } = feed(rules, [
      { type: 'begin' },
      { type: 'started', unit: 'migrate', at: 0 },
      { type: 'launched', unit: 'migrate' },
      { type: 'exit', unit: 'migrate', code: 0, signal: null, taken: null },
    ]);
    expect(only(effects, 'summary', 'finish')).toEqual([{ type: 'summary' }, { type: 'finish' }]);
    expect(state.failure).toBeNull();
  });

  it('moves a unit that lost its port to a stranger without counting a restart, and says who took it', () => {
    const rules = three();
    const starting = feed(rules, [{ type: 'begin' }, ...up.slice(0, 3), up[3]!, up[4]!]).state;
    const taken = { port: 3000, holder: 'pid 900 (nc -l 3000)' };
    const { state, effects } = feed(
      rules,
      [{ type: 'exit', unit: 'api', code: 1, signal: null, taken }],
      starting,
    );
    expect(only(effects, 'launch', 'notice')).toEqual([
      { type: 'launch', unit: 'api', takenBy: 'pid 900 (nc -l 3000)' },
    ]);
    expect(state.units.get('api')).toMatchObject({ phase: 'pending', restarts: 0, takenBy: null });
  });

  it('moves a starting unit whose port a stranger took: stop, then back to pending and launched again', () => {
    const rules = three();
    const starting = feed(rules, [{ type: 'begin' }, ...up.slice(0, 3), up[3]!, up[4]!]).state;
    const taken = { port: 3000, holder: 'pid 900' };
    const moving = feed(
      rules,
      [
        { type: 'move', unit: 'api' },
        { type: 'move-stopped', unit: 'api' },
      ],
      starting,
    );
    expect(moving.state.units.get('api')).toMatchObject({ moving: true, spawned: false, phase: 'starting' });
    const moved = feed(rules, [{ type: 'move-done', unit: 'api', taken }], moving.state);
    expect(only(moved.effects, 'launch')).toEqual([{ type: 'launch', unit: 'api', takenBy: 'pid 900' }]);
    expect(moved.state.units.get('api')?.moving).toBe(false);
  });

  it('a stop during a move ends the unit as stopped, without a new launch', () => {
    const rules = three();
    const starting = feed(rules, [{ type: 'begin' }, ...up.slice(0, 3), up[3]!, up[4]!]).state;
    const { state, effects } = feed(
      rules,
      [
        { type: 'move', unit: 'api' },
        { type: 'stop' },
        { type: 'move-stopped', unit: 'api' },
        { type: 'move-done', unit: 'api', taken: null },
        { type: 'exit', unit: 'db', code: 0, signal: null, taken: null },
      ],
      starting,
    );
    expect(only(effects, 'launch')).toEqual([]);
    expect(
      only(effects, 'notice').map((e) => e.type === 'notice' && [e.notice.type, e.notice.service]),
    ).toEqual([
      ['stopped', 'api'],
      ['stopped', 'db'],
    ]);
    expect(effects.at(-1)).toEqual({ type: 'finish' });
    expect(phase(state, 'api')).toBe('stopped');
  });

  it.each([
    [false, 'api', 'autoReassign is off. Free the port (`berth free 3000`) or set autoReassign: true'],
    [true, 'websocket', 'websocket shares it through inheritFrom. Free the port (`berth free 3000`)'],
  ] as const)('fails instead of moving when it cannot (autoReassign %s, %s)', (autoReassign, unit, why) => {
    const services = [
      svc('api', {}, cmd('node api.js')),
      svc('websocket', { inheritFrom: 'api' }, cmd('node ws.js')),
    ];
    const rules = stackRules(stackGraph(services, null), services, autoReassign);
    const running = feed(rules, [
      { type: 'begin' },
      { type: 'started', unit: 'api', at: 0 },
      { type: 'launched', unit: 'api' },
      { type: 'ready', unit: 'api', at: 1 },
      { type: 'started', unit: 'websocket', at: 2 },
      { type: 'launched', unit: 'websocket' },
    ]).state;
    const taken = { port: 3000, holder: 'pid 900' };
    const { state } = feed(rules, [{ type: 'exit', unit, code: 1, signal: null, taken }], running);
    expect(state.failure).toEqual({
      service: unit,
      reason: `port 3000 is held by pid 900, a process berth did not start, and ${why}`,
    });
  });

  it('is pure: the state it was given is left as it was', () => {
    const rules = three();
    const before = initialStack(rules.graph);
    const copy = structuredClone(before);
    step(before, rules, { type: 'begin' });
    expect(before).toEqual(copy);
  });

  it('refuses an input its state cannot take (a runner bug)', () => {
    const rules = three();
    expect(() => step(initialStack(rules.graph), rules, { type: 'ready', unit: 'db', at: 0 })).toThrow(
      /cannot take/,
    );
    expect(() => step(initialStack(rules.graph), rules, { type: 'watched', unit: 'nope' })).toThrow(
      /no unit/,
    );
  });
});
