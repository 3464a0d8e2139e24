import { describe, expect, it } from 'vitest';
import type { ProcessTree } from '../../core/facts.js';
import { PLAN_VARIABLE, readPlan, writePlan } from './plan-variable.js';
import type { WebServerPlan } from './web-servers.js';

const plan: WebServerPlan = {
  runId: 'a1b2c3d4',
  home: '/tmp/home',
  registry: null,
  scope: { dir: '/w/shop', environment: 'test' },
  reused: null,
  servers: [
    {
      name: 'web',
      command: 'npm start',
      cwd: '/w/shop',
      port: 20011,
      url: 'http://localhost:20011/',
      env: { PORT: '20011' },
      stopSignal: 'SIGTERM',
      stopTimeoutMs: 5000,
    },
  ],
  values: { ports: { web: 20011 }, urls: { web: 'http://localhost:20011' } },
  env: { WEB_PORT: '20011' },
  notes: [],
};

/** A tree in which process.ppid's parent is 700, whose parent is 1. */
const tree: ProcessTree = { parentOf: (pid) => (pid === process.ppid ? 700 : pid === 700 ? 1 : null) };
const envelope = (pid: number, body: unknown = plan) => ({
  [PLAN_VARIABLE]: JSON.stringify({ pid, plan: body }),
});

describe('the Playwright plan variable', () => {
  it('hands a process back the plan it wrote', () => {
    const env: NodeJS.ProcessEnv = {};
    writePlan(env, plan);
    expect(readPlan(env, tree)).toEqual(plan);
  });

  it("takes the plan of its parent or an ancestor (Playwright's workers)", () => {
    expect(readPlan(envelope(process.ppid), tree)).toEqual(plan);
    expect(readPlan(envelope(700), tree)).toEqual(plan);
  });

  it("refuses another process tree's plan: left exported in a shell, or from an unrelated run", () => {
    expect(readPlan(envelope(424242), tree)).toBeNull();
  });

  it('refuses a malformed plan instead of trusting it', () => {
    expect(readPlan({ [PLAN_VARIABLE]: 'not json' }, tree)).toBeNull();
    expect(readPlan({ [PLAN_VARIABLE]: JSON.stringify(plan) }, tree)).toBeNull();
    expect(
      readPlan(envelope(process.pid, { ...plan, servers: [{ name: 'web', port: '3000' }] }), tree),
    ).toBeNull();
    expect(
      readPlan(envelope(process.pid, { ...plan, values: { ports: { web: 'x' }, urls: {} } }), tree),
    ).toBeNull();
    expect(readPlan({}, tree)).toBeNull();
  });
});
