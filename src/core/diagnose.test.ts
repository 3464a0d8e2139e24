import { describe, expect, it } from 'vitest';
import {
  descendsFrom,
  diagnosePort,
  healthWithoutCheck,
  isProblem,
  type ListenerFacts,
  type ParentOf,
  planFixes,
  type ServiceDiagnosis,
} from './diagnose.js';

/** 1 <- 10 (berth run) <- 20 (sh) <- 30 (node); 1 <- 40 (a stranger). */
const tree = new Map([
  [10, 1],
  [20, 10],
  [30, 20],
  [40, 1],
]);
const parentOf: ParentOf = (pid) => tree.get(pid) ?? null;
const unknownTree: ParentOf = () => null;

const holders = (...pids: number[]): ListenerFacts => ({
  holders: pids.map((pid) => ({ pid, command: `cmd ${pid}` })),
  hidden: [],
});
const nobody: ListenerFacts = { holders: [], hidden: [] };

describe('descendsFrom', () => {
  it('is true for the process itself and for its descendants', () => {
    expect(descendsFrom(10, 10, parentOf)).toBe(true);
    expect(descendsFrom(30, 10, parentOf)).toBe(true);
  });

  it('is false for a process outside the tree, and for an ancestor', () => {
    expect(descendsFrom(40, 10, parentOf)).toBe(false);
    expect(descendsFrom(10, 30, parentOf)).toBe(false);
  });

  it('is null when the chain breaks (a process exited mid-walk)', () => {
    expect(descendsFrom(30, 99, (pid) => (pid === 30 ? 25 : null))).toBe(null);
  });

  it('stops on a cyclic table instead of looping', () => {
    expect(descendsFrom(5, 99, (pid) => (pid === 5 ? 6 : 5))).toBe(null);
    expect(descendsFrom(5, 99, () => 5)).toBe(false);
  });
});

describe('diagnosePort', () => {
  it('is free when nothing listens', () => {
    expect(diagnosePort({ ownerPid: 10, stale: null }, nobody, parentOf)).toEqual({
      state: 'free',
      holder: null,
    });
    expect(diagnosePort({ ownerPid: null, stale: null }, nobody, parentOf).state).toBe('free');
  });

  it('is stale whatever listens, and still shows the listener', () => {
    expect(diagnosePort({ ownerPid: 10, stale: 'owner-dead' }, holders(40), parentOf)).toEqual({
      state: 'owner-dead',
      holder: { pid: 40, command: 'cmd 40' },
    });
    expect(diagnosePort({ ownerPid: null, stale: 'expired' }, nobody, parentOf)).toEqual({
      state: 'expired',
      holder: null,
    });
  });

  it('counts any listener as bound for a lease without an owner', () => {
    expect(diagnosePort({ ownerPid: null, stale: null }, holders(40), parentOf)).toEqual({
      state: 'bound',
      holder: { pid: 40, command: 'cmd 40' },
    });
    const hiddenOnly: ListenerFacts = { holders: [], hidden: [{ reason: 'other-user' }] };
    expect(diagnosePort({ ownerPid: null, stale: null }, hiddenOnly, parentOf)).toEqual({
      state: 'bound',
      holder: null,
    });
  });

  it('is bound by the owner or a descendant of it, and shows that process', () => {
    expect(diagnosePort({ ownerPid: 10, stale: null }, holders(10), parentOf).state).toBe('bound');
    expect(diagnosePort({ ownerPid: 10, stale: null }, holders(40, 30), parentOf)).toEqual({
      state: 'bound',
      holder: { pid: 30, command: 'cmd 30' },
    });
  });

  it('is foreign when the listener is outside the owner tree', () => {
    expect(diagnosePort({ ownerPid: 10, stale: null }, holders(40), parentOf)).toEqual({
      state: 'foreign',
      holder: { pid: 40, command: 'cmd 40' },
    });
  });

  it('gives the benefit of the doubt when the tree cannot be read', () => {
    expect(diagnosePort({ ownerPid: 10, stale: null }, holders(40), unknownTree).state).toBe('bound');
  });

  it("treats another user's hidden socket on an owned lease as foreign, an unexplained one as bound", () => {
    const otherUser: ListenerFacts = { holders: [], hidden: [{ reason: 'other-user' }] };
    const unknown: ListenerFacts = { holders: [], hidden: [{ reason: 'unknown' }] };
    expect(diagnosePort({ ownerPid: 10, stale: null }, otherUser, parentOf)).toEqual({
      state: 'foreign',
      holder: null,
    });
    expect(diagnosePort({ ownerPid: 10, stale: null }, unknown, parentOf).state).toBe('bound');
  });
});

describe('healthWithoutCheck', () => {
  const unknown = (reason: string) => ({ status: 'unknown', reason, latencyMs: null });

  it('runs checks only on bound ports with a check configured', () => {
    expect(healthWithoutCheck('bound', true)).toBeNull();
    expect(healthWithoutCheck('bound', false)).toEqual(unknown('health checks are off'));
    expect(healthWithoutCheck('foreign', true)).toEqual(
      unknown('the port is held by a process berth did not lease'),
    );
    expect(healthWithoutCheck('owner-dead', true)).toEqual(unknown("the lease's owner died"));
    expect(healthWithoutCheck('expired', true)).toEqual(unknown('the lease expired'));
  });

  it('calls a free port not running, with checks on or off: a state, not a failure', () => {
    const notRunning = { status: 'not-running', reason: 'nothing listens on the port', latencyMs: null };
    expect(healthWithoutCheck('free', true)).toEqual(notRunning);
    expect(healthWithoutCheck('free', false)).toEqual(notRunning);
    expect(isProblem({ state: 'free', health: healthWithoutCheck('free', true)! })).toBe(false);
  });
});

const row = (service: string, state: ServiceDiagnosis['state'], root = service): ServiceDiagnosis => ({
  service,
  port: 3000,
  root,
  state,
  holder: null,
  ownerPid: null,
  health: { status: 'unknown', reason: 'x', latencyMs: null },
});

describe('isProblem', () => {
  it('flags foreign holders, stale leases and failing checks; not free or bound ports', () => {
    expect(isProblem(row('a', 'free'))).toBe(false);
    expect(isProblem(row('a', 'bound'))).toBe(false);
    expect(isProblem(row('a', 'foreign'))).toBe(true);
    expect(isProblem(row('a', 'owner-dead'))).toBe(true);
    expect(isProblem(row('a', 'expired'))).toBe(true);
    expect(isProblem({ state: 'bound', health: { status: 'unhealthy', reason: 'x', latencyMs: 1 } })).toBe(
      true,
    );
    // The listener went away between the listener read and the check: stopped, not failing.
    expect(isProblem({ state: 'bound', health: { status: 'not-running', reason: 'x', latencyMs: 1 } })).toBe(
      false,
    );
  });
});

describe('planFixes', () => {
  const rows = [
    row('server', 'foreign'),
    row('websocket', 'foreign', 'server'),
    row('client', 'owner-dead'),
    row('database', 'expired'),
    row('redis', 'bound'),
    row('monitoring', 'free'),
  ];

  it('reclaims stale leases and moves foreign-held ones, once per root', () => {
    const plan = planFixes(rows, true);
    expect(plan.reclaim.map((r) => r.root)).toEqual(['client', 'database']);
    expect(plan.move.map((r) => r.root)).toEqual(['server']);
    expect(plan.stuck).toEqual([]);
  });

  it('leaves foreign-held leases alone when autoReassign is off', () => {
    const plan = planFixes(rows, false);
    expect(plan.move).toEqual([]);
    expect(plan.stuck.map((r) => r.root)).toEqual(['server']);
  });

  it('moves the root when only an inheriting service was checked', () => {
    expect(planFixes([row('websocket', 'foreign', 'server')], true).move.map((r) => r.root)).toEqual([
      'server',
    ]);
  });
});
