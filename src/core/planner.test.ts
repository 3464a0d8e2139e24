import { describe, expect, it } from 'vitest';
import { serviceSpec } from '../../test/support/specs.js';
import { isBerthError } from '../errors.js';
import { type Occupancy, type PlanInput, planPorts } from './planner.js';
import { basePolicy, DEFAULT_POOL } from './policy.js';
import type { Lease, ServiceSpec } from './types.js';

const DIR = '/work/shop';
const ENV = 'development';

const svc = (name: string, over: Partial<ServiceSpec> = {}): ServiceSpec => serviceSpec(name, over, {}, DIR);

/** The seed's six services, normalised (conflicts symmetric). */
const SEED: ServiceSpec[] = [
  svc('server', {
    preferred: [3000, 3001, 3002],
    range: { min: 3000, max: 3999 },
    priority: 'high',
    conflicts: ['client'],
  }),
  svc('websocket', { inheritFrom: 'server', requires: ['websocket'], priority: 'high' }),
  svc('client', { preferred: [3001], range: { min: 3000, max: 3999 }, conflicts: ['server'] }),
  svc('database', { preferred: [5432], range: { min: 5432, max: 5499 }, requires: ['tcp'] }),
  svc('redis', { preferred: [6379], range: { min: 6379, max: 6399 }, requires: ['tcp'] }),
  svc('monitoring', { preferred: [9091], range: { min: 9090, max: 9199 }, priority: 'low' }),
];

let nextId = 1;
function lease(service: string, port: number, over: Partial<Lease> = {}): Lease {
  return {
    id: nextId++,
    port,
    kind: 'service',
    project: 'shop',
    dir: DIR,
    environment: ENV,
    service,
    inheritsFrom: null,
    owner: null,
    createdAt: 0,
    expiresAt: null,
    scheme: 'http',
    ...over,
  };
}

function occupancy(leases: Lease[] = [], listening: number[] = []): Occupancy {
  const byPort = new Map(leases.filter((l) => l.inheritsFrom === null).map((l) => [l.port, l]));
  const busy = new Set(listening);
  return { leased: (p) => byPort.has(p), leaseAt: (p) => byPort.get(p), listening: (p) => busy.has(p) };
}

function input(over: Partial<PlanInput> & { all?: Lease[]; busy?: number[] } = {}): PlanInput {
  const { all = [], busy = [], ...rest } = over;
  const services = rest.services ?? SEED;
  return {
    services,
    targets: services.map((s) => s.name),
    strategy: 'minimal',
    autoReassign: true,
    scope: { dir: DIR, environment: ENV },
    leases: all.filter((l) => l.dir === DIR && l.environment === ENV && l.kind === 'service'),
    history: new Map(),
    foreignHeld: new Map(),
    occupancy: occupancy(all, busy),
    policy: basePolicy(),
    avoid: new Set(),
    ...rest,
  };
}

const portsOf = (plan: ReturnType<typeof planPorts>) =>
  Object.fromEntries(plan.assignments.map((a) => [a.service, a.port]));
const strategyOf = (plan: ReturnType<typeof planPorts>, service: string) =>
  plan.assignments.find((a) => a.service === service)?.strategy;

function thrown(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('planPorts: the seed scenario', () => {
  it('gives every service its preferred port on an empty machine, websocket sharing the server port', () => {
    const plan = planPorts(input());
    expect(portsOf(plan)).toEqual({
      server: 3000,
      websocket: 3000,
      client: 3001,
      database: 5432,
      redis: 6379,
      monitoring: 9091,
    });
    const messages = plan.decisions.map((d) => d.message);
    expect(messages).toContain('server assigned port 3000 (preferred)');
    expect(messages).toContain('websocket inherits port 3000 from server');
    expect(messages).toContain('client assigned port 3001 (preferred)');
  });

  it('with 3000 held by a foreign process, server skips 3001 (client prefers it) and takes 3002', () => {
    const plan = planPorts(input({ busy: [3000] }));
    expect(portsOf(plan)).toMatchObject({ server: 3002, websocket: 3002, client: 3001, database: 5432 });
    const server = plan.decisions.find((d) => d.service === 'server')!;
    expect(server.message).toBe(
      'server assigned port 3002 (preferred): 3000 in use by a process berth did not lease; 3001 kept for client (declared conflict)',
    );
  });

  it('plans in priority order: high before medium before low, then declaration order', () => {
    const plan = planPorts(input());
    const order = plan.decisions.map((d) => d.service);
    // The inheriting websocket is reported right after the server whose port it shares.
    expect(order).toEqual(['server', 'websocket', 'client', 'database', 'redis', 'monitoring']);
  });
});

describe('planPorts: each step', () => {
  it('sticky: keeps a live lease even when its preferred port is free again', () => {
    const plan = planPorts(input({ all: [lease('server', 3002)] }));
    expect(portsOf(plan).server).toBe(3002);
    expect(strategyOf(plan, 'server')).toBe('sticky');
  });

  it('sticky: reuses the port from history when it is still free', () => {
    const plan = planPorts(input({ history: new Map([['database', 5440]]) }));
    expect(portsOf(plan).database).toBe(5440);
    expect(strategyOf(plan, 'database')).toBe('sticky');
  });

  it('sticky: passes over a history port that is now busy', () => {
    const plan = planPorts(input({ history: new Map([['database', 5440]]), busy: [5440] }));
    expect(portsOf(plan).database).toBe(5432);
    expect(plan.decisions.find((d) => d.service === 'database')!.skipped[0]).toEqual({
      port: 5440,
      reason: 'in use by a process berth did not lease',
    });
  });

  it('range_scan: first free port of the range after the preferred ones', () => {
    const plan = planPorts(input({ busy: [5432, 5433, 5434] }));
    expect(portsOf(plan).database).toBe(5435);
    expect(strategyOf(plan, 'database')).toBe('range_scan');
  });

  it('range_scan: passes over ports leased by other projects', () => {
    const other = lease('api', 6379, { dir: '/work/other', project: 'other' });
    const plan = planPorts(input({ all: [other] }));
    expect(portsOf(plan).redis).toBe(6380);
    expect(plan.decisions.find((d) => d.service === 'redis')!.skipped[0]!.reason).toBe(
      'leased to other/api (/work/other)',
    );
  });

  it('emergency: outside the range, from the pool, skipping busy pool ports', () => {
    const busy = Array.from({ length: 21 }, (_, i) => 6379 + i);
    const plan = planPorts(input({ busy: [...busy, 20000, 20001] }));
    expect(portsOf(plan).redis).toBe(20002);
    expect(strategyOf(plan, 'redis')).toBe('emergency');
  });

  it('emergency: never in the ephemeral range or below 1024', () => {
    const services = [svc('x', { preferred: [80], range: { min: 5000, max: 5001 }, requires: ['tcp'] })];
    const policy = basePolicy({ pool: { min: 1000, max: 33000 }, ephemeral: { min: 1000, max: 32000 } });
    const plan = planPorts(input({ services, policy, busy: [5000, 5001] }));
    expect(portsOf(plan).x).toBe(32001);
    expect(plan.decisions[0]!.skipped[0]).toEqual({ port: 80, reason: 'privileged port' });
  });

  it('a preferred port the user names in the ephemeral range is used, and the line says why it is risky', () => {
    const services = [svc('livereload', { preferred: [35729] })];
    const policy = basePolicy({ ephemeral: { min: 32768, max: 60999 } });
    const plan = planPorts(input({ services, policy }));
    expect(portsOf(plan).livereload).toBe(35729);
    expect(plan.decisions[0]!.message).toBe(
      'livereload assigned port 35729 (preferred): 35729 is in the ephemeral range 32768-60999: an outgoing connection can take it before the server binds it',
    );
  });

  it('a named range is scanned outside the ephemeral range first, then inside it', () => {
    const policy = basePolicy({ ephemeral: { min: 32768, max: 60999 } });
    const services = [
      svc('a', { range: { min: 32760, max: 32770 } }),
      svc('b', { range: { min: 40600, max: 41499 } }),
    ];
    const plan = planPorts(input({ services, policy, busy: [32760] }));
    expect(portsOf(plan)).toEqual({ a: 32761, b: 40600 });
    const crowded = planPorts(
      input({
        services: [services[0]!],
        policy,
        busy: [32760, 32761, 32762, 32763, 32764, 32765, 32766, 32767],
      }),
    );
    expect(portsOf(crowded).a).toBe(32768);
    expect(crowded.decisions[0]!.message).toContain('32768 is in the ephemeral range');
  });

  it('emergency ports follow the pool rules: never a well-known port of the pool', () => {
    const services = [svc('x', { preferred: [5000] })];
    const plan = planPorts(input({ services, busy: [5000] }));
    expect(portsOf(plan).x).toBe(20001);
    expect(strategyOf(plan, 'x')).toBe('emergency');
  });

  it('a service that names no port gets the pool by its rules: never a well-known port of the pool', () => {
    const services = [svc('api', { preferred: [], range: { ...DEFAULT_POOL } })];
    const plan = planPorts(input({ services }));
    expect(portsOf(plan).api).toBe(20001);
    expect(strategyOf(plan, 'api')).toBe('range_scan');
  });

  it('a range the user declares is theirs, well-known ports included', () => {
    const services = [svc('mongo', { preferred: [], range: { min: 27017, max: 27019 } })];
    expect(portsOf(planPorts(input({ services }))).mongo).toBe(27017);
  });

  it('refuses browser-blocked ports for http services but not for tcp services', () => {
    const services = [
      svc('web', { preferred: [6000, 6001] }),
      svc('x11', { preferred: [6000], requires: ['tcp'] }),
    ];
    const plan = planPorts(input({ services }));
    expect(portsOf(plan)).toEqual({ web: 6001, x11: 6000 });
  });

  it('E_NO_PORT names the service and counts what stood in the way', () => {
    const services = [svc('db', { preferred: [5432], range: { min: 5432, max: 5436 } })];
    const other = lease('api', 5434, { dir: '/work/other', project: 'other' });
    // 20000 is a well-known port the pool never offers; 20001 is (here) in the ephemeral range.
    const policy = basePolicy({
      pool: { min: 20000, max: 20001 },
      excluded: [{ min: 5435, max: 5435 }],
      ephemeral: { min: 20001, max: 20001 },
    });
    const error = thrown(() =>
      planPorts(input({ services, policy, all: [other], busy: [5432, 5433, 5436] })),
    );
    expect(isBerthError(error, 'E_NO_PORT')).toBe(true);
    expect((error as Error).message).toBe(
      'no free port for db in its preferred ports, range 5432-5436 and the emergency pool 20000-20001: ' +
        '1 leased by berth, 3 held by other processes, 1 excluded, ' +
        '1 refused (1 in the ephemeral range). ' +
        'First tried: 5432 (in use by a process berth did not lease), 5433 (in use by a process berth did not lease), ' +
        '5434 (leased to other/api (/work/other)), 5435 (excluded), 5436 (in use by a process berth did not lease). ' +
        'Widen services.db.range or free a port (berth who <port>).',
    );
  });

  it('an unknown target is E_UNKNOWN_SERVICE', () => {
    const error = thrown(() => planPorts(input({ targets: ['nope'] })));
    expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
  });

  it('an unknown target when no service is declared says to declare it, without an empty list', () => {
    const error = thrown(() => planPorts(input({ services: [], targets: ['api'] })));
    expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
    expect((error as Error).message).toBe(
      'unknown service "api". No service is declared: declare it under services.api.',
    );
  });
});

describe('planPorts: inheritance', () => {
  it('assigning only the inheritor plans its target too', () => {
    const plan = planPorts(input({ targets: ['websocket'] }));
    expect(portsOf(plan)).toEqual({ server: 3000, websocket: 3000 });
  });

  it('follows chains: c inherits b inherits a', () => {
    const services = [
      svc('c', { inheritFrom: 'b' }),
      svc('b', { inheritFrom: 'a' }),
      svc('a', { preferred: [4100] }),
    ];
    const plan = planPorts(input({ services }));
    expect(portsOf(plan)).toEqual({ a: 4100, b: 4100, c: 4100 });
    expect(plan.decisions.find((d) => d.service === 'c')!.message).toBe('c inherits port 4100 from b');
  });
});

describe('planPorts: priorities without a declared conflict', () => {
  it('the higher priority wins a shared preferred port; the loser moves on and says why', () => {
    const services = [
      svc('metrics', { preferred: [4200, 4201], priority: 'low' }),
      svc('api', { preferred: [4200], priority: 'high' }),
    ];
    const plan = planPorts(input({ services }));
    expect(portsOf(plan)).toEqual({ metrics: 4201, api: 4200 });
    expect(plan.decisions.find((d) => d.service === 'metrics')!.message).toBe(
      'metrics assigned port 4201 (preferred): 4200 taken by api (priority high)',
    );
  });
});

describe('planPorts: strategies when a lease of the same project holds the wanted port', () => {
  // client holds 3000 from an earlier run; server (high) wants 3000.
  const services = [
    svc('server', { preferred: [3000], range: { min: 3000, max: 3999 }, priority: 'high' }),
    svc('client', { preferred: [3001], range: { min: 3000, max: 3999 }, priority: 'medium' }),
  ];
  const held = () => [lease('client', 3000)];

  it('minimal moves a lower-priority lease that is not bound, and records the move', () => {
    const plan = planPorts(input({ services, all: held() }));
    expect(portsOf(plan)).toEqual({ server: 3000, client: 3001 });
    expect(plan.moves).toEqual([{ service: 'client', from: 3000, to: 3001 }]);
    expect(plan.decisions.find((d) => d.service === 'client')!.message).toBe(
      'client moved from 3000 to 3001: 3000 taken by server (minimal)',
    );
  });

  it('minimal does not move a lease whose port is bound', () => {
    const plan = planPorts(input({ services, all: held(), busy: [3000] }));
    expect(portsOf(plan)).toEqual({ server: 3001, client: 3000 });
    expect(plan.moves).toEqual([]);
  });

  it('minimal does not move a lease of higher priority; aggressive does', () => {
    const swapped = [
      svc('server', { preferred: [3000], range: { min: 3000, max: 3999 }, priority: 'low' }),
      svc('client', { preferred: [3001], range: { min: 3000, max: 3999 }, priority: 'high' }),
    ];
    const minimal = planPorts(input({ services: swapped, all: held(), targets: ['server'] }));
    expect(portsOf(minimal)).toMatchObject({ server: 3001 });
    const aggressive = planPorts(
      input({ services: swapped, all: held(), targets: ['server'], strategy: 'aggressive' }),
    );
    expect(portsOf(aggressive)).toEqual({ server: 3000, client: 3001 });
    expect(aggressive.moves).toEqual([{ service: 'client', from: 3000, to: 3001 }]);
  });

  it('conservative never moves an existing lease', () => {
    const plan = planPorts(input({ services, all: held(), strategy: 'conservative' }));
    expect(portsOf(plan)).toEqual({ server: 3001, client: 3000 });
    expect(plan.moves).toEqual([]);
  });

  it('strict fails with E_PORT_HELD instead of falling back to a non-preferred port', () => {
    const error = thrown(() =>
      planPorts(input({ services, all: held(), strategy: 'strict', targets: ['server'] })),
    );
    expect(isBerthError(error, 'E_PORT_HELD')).toBe(true);
    expect((error as Error).message).toContain('3000 (leased to client)');
  });

  it('strict still accepts a later preferred port', () => {
    const two = [svc('server', { preferred: [3000, 3005], range: { min: 3000, max: 3999 } })];
    const plan = planPorts(input({ services: two, busy: [3000], strategy: 'strict' }));
    expect(portsOf(plan).server).toBe(3005);
  });

  it('leases of other checkouts and environments are never moved, whatever the strategy', () => {
    const otherCheckout = lease('client', 3000, { dir: '/work/shop-2' });
    const otherEnv = lease('client', 3001, { environment: 'test' });
    for (const strategy of ['minimal', 'aggressive'] as const) {
      const plan = planPorts(input({ services, all: [otherCheckout, otherEnv], strategy }));
      expect(plan.moves).toEqual([]);
      expect(portsOf(plan).server).toBe(3002);
    }
  });

  it('a port held by a foreign process is never resolved: the service moves on', () => {
    const plan = planPorts(input({ services, busy: [3000], strategy: 'aggressive' }));
    expect(portsOf(plan).server).toBe(3001);
  });
});

describe('planPorts: autoReassign', () => {
  const services = [svc('server', { preferred: [3000], range: { min: 3000, max: 3010 } })];

  it('moves a lease whose port a foreign process took, and says so', () => {
    const plan = planPorts(
      input({
        services,
        all: [lease('server', 3000)],
        busy: [3000],
        foreignHeld: new Map([[3000, 'pid 42 (nc)']]),
      }),
    );
    expect(portsOf(plan).server).toBe(3001);
    expect(plan.decisions[0]!.message).toBe(
      'server moved from 3000 to 3001: 3000 taken by pid 42 (nc), a process berth did not lease (autoReassign)',
    );
  });

  it('fails with E_PORT_HELD naming the holder when autoReassign is off', () => {
    const error = thrown(() =>
      planPorts(
        input({
          services,
          autoReassign: false,
          all: [lease('server', 3000)],
          busy: [3000],
          foreignHeld: new Map([[3000, 'pid 42 (nc)']]),
        }),
      ),
    );
    expect(isBerthError(error, 'E_PORT_HELD')).toBe(true);
    expect((error as Error).message).toContain('pid 42 (nc)');
  });
});

describe('planPorts: conflicts', () => {
  it('does not hold a port for a rival that already has a lease elsewhere', () => {
    const plan = planPorts(input({ all: [lease('client', 3005)], busy: [3000] }));
    expect(portsOf(plan)).toMatchObject({ server: 3001, client: 3005 });
  });
});
