import { describe, expect, it } from 'vitest';
import { serviceSpec } from '../../test/support/specs.js';
import {
  isRunId,
  isRunLabel,
  readRunValues,
  runEnvironment,
  runValues,
  runVariables,
  workerLabel,
} from './test-run.js';

const svc = serviceSpec;

const services = [svc('api'), svc('db', { requires: ['tcp'], envVar: 'PGPORT' }), svc('idle')];
const ports = new Map([
  ['api', 13000],
  ['db', 15432],
]);

describe('a test run', () => {
  it('leases in a scope of its own: the environment, then the run id, a valid environment name', () => {
    expect(runEnvironment('test', '3f9a2c01')).toBe('test.run-3f9a2c01');
    expect(runEnvironment('test', '3f9a2c01')).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
  });

  it('knows its run ids: 8 hex digits, nothing else', () => {
    expect(isRunId('3f9a2c01')).toBe(true);
    expect(isRunId('3f9a2c0')).toBe(false);
    expect(isRunId('3f9a2c01; rm')).toBe(false);
    expect(isRunId(undefined)).toBe(false);
  });

  it("labels a worker's lease with runner, worker, name and run, and finds the run in the label", () => {
    const label = workerLabel({ runner: 'vitest', worker: '3', name: 'db', runId: '3f9a2c01' });
    expect(label).toBe('vitest worker 3: db (run 3f9a2c01)');
    expect(isRunLabel(label, '3f9a2c01')).toBe(true);
    expect(isRunLabel(label, '3f9a2c02')).toBe(false);
    // Outside a worker and outside a run: no run to match.
    const plain = workerLabel({ runner: 'jest', worker: null, name: 'port', runId: null });
    expect(plain).toBe('jest pid: port');
    expect(isRunLabel(plain, '3f9a2c01')).toBe(false);
  });

  it('hands the tests ports and URLs of the leased services only, by the same URL rule as berth env', () => {
    expect(runValues(services, ports)).toEqual({
      ports: { api: 13000, db: 15432 },
      urls: { api: 'http://localhost:13000', db: 'tcp://localhost:15432' },
    });
  });

  it('carries them in variables the workers inherit, and reads them back', () => {
    const vars = runVariables(services, ports, '3f9a2c01');
    expect(vars).toMatchObject({
      BERTH_RUN_ID: '3f9a2c01',
      API_PORT: '13000',
      API_URL: 'http://localhost:13000',
      PGPORT: '15432',
      DB_URL: 'tcp://localhost:15432',
    });
    expect(readRunValues(vars)).toEqual(runValues(services, ports));
  });

  it('reads no values from missing or damaged variables, and drops values of the wrong type', () => {
    expect(readRunValues({})).toEqual({ ports: {}, urls: {} });
    expect(readRunValues({ BERTH_PORTS: '{oops', BERTH_URLS: '[1]' })).toEqual({ ports: {}, urls: {} });
    expect(readRunValues({ BERTH_PORTS: '{"a":1,"b":"2"}' }).ports).toEqual({ a: 1 });
  });
});
