/**
 * A test run's names, pure: the run id every lease of one `vitest`, `jest` or
 * `playwright test` carries, the scope its services are leased in, the labels
 * of its workers' leases, and the variables that carry its ports to the tests.
 * The runner integrations (src/runners/) and their composition
 * (src/compose/test-run/) use these; nothing here does I/O.
 */
import { envVars, serviceUrl } from './endpoints.js';
import type { ServiceSpec } from './types.js';

/** The runners berth integrates with. */
export type TestRunner = 'vitest' | 'jest' | 'playwright';

/** The variable that carries the run id from the global setup to the workers. */
export const RUN_ID_VARIABLE = 'BERTH_RUN_ID';

/** JSON `{ "server": 3000, ... }`: every leased service's port (Jest's tests read it: globals do not reach them, jest#6007). */
export const PORTS_VARIABLE = 'BERTH_PORTS';

/** JSON `{ "server": "http://localhost:3000", ... }`: every leased service's URL. */
export const URLS_VARIABLE = 'BERTH_URLS';

/** A run id: 8 hex digits. */
const RUN_ID = /^[0-9a-f]{8}$/;

/**
 * Whether `value` is a run id as {@link RUN_ID_VARIABLE} carries it.
 *
 * @example
 * isRunId('3f9a2c01') // true
 */
export function isRunId(value: string | undefined): value is string {
  return value !== undefined && RUN_ID.test(value);
}

/**
 * The environment a run's services are leased in: the config's environment
 * (its overrides apply) plus the run id, so that two runs of one checkout
 * (CI shards, the packages of a monorepo, a second terminal) never share a
 * lease. It is a valid environment name, shown as such by `berth ls`.
 *
 * @example
 * runEnvironment('test', '3f9a2c01') // 'test.run-3f9a2c01'
 */
export function runEnvironment(environment: string, runId: string): string {
  return `${environment}.run-${runId}`;
}

/**
 * Whether an environment is a test run's scope ({@link runEnvironment}): such
 * leases last one run, so they get no names.
 *
 * @example
 * isRunEnvironment('test.run-3f9a2c01') // true
 */
export function isRunEnvironment(environment: string): boolean {
  return /\.run-[0-9a-f]{8}$/.test(environment);
}

/** What ends the label of every lease of a run. */
function runSuffix(runId: string): string {
  return ` (run ${runId})`;
}

/**
 * The label of a worker's lease, as `berth ls` shows it: runner, worker, the
 * name the test asked for and, inside a run, the run id.
 *
 * @example
 * workerLabel({ runner: 'vitest', worker: '3', name: 'db', runId: '3f9a2c01' })
 * // 'vitest worker 3: db (run 3f9a2c01)'
 */
export function workerLabel(lease: {
  runner: TestRunner;
  worker: string | null;
  name: string;
  runId: string | null;
}): string {
  const worker = lease.worker === null ? `${lease.runner} pid` : `${lease.runner} worker ${lease.worker}`;
  return `${worker}: ${lease.name}${lease.runId === null ? '' : runSuffix(lease.runId)}`;
}

/**
 * Whether an ad-hoc lease's label says it belongs to run `runId`.
 *
 * @example
 * isRunLabel('vitest worker 3: db (run 3f9a2c01)', '3f9a2c01') // true
 */
export function isRunLabel(label: string, runId: string): boolean {
  return label.endsWith(runSuffix(runId));
}

/** The ports and URLs a run hands its tests: `inject('berth')` in vitest, `berthPorts()` elsewhere. */
export interface RunValues {
  /** Port of every leased service, by name. */
  ports: Record<string, number>;
  /** URL of every leased service, by name (`http://localhost:3000`, `ws://...`, `tcp://...`). */
  urls: Record<string, string>;
}

/**
 * The variables a run sets for its workers (and the code they test): the run
 * id, {@link PORTS_VARIABLE} and {@link URLS_VARIABLE} as JSON, and what
 * `berth env` prints (`<NAME>_PORT` or the service's `portEnv`, `<NAME>_URL`).
 *
 * @example
 * runVariables(config.services, new Map([['server', 3000]]), '3f9a2c01')
 * // { BERTH_RUN_ID: '3f9a2c01', BERTH_PORTS: '{"server":3000}', BERTH_URLS: '{...}', SERVER_PORT: '3000', SERVER_URL: '...' }
 */
export function runVariables(
  services: readonly ServiceSpec[],
  ports: ReadonlyMap<string, number>,
  runId: string,
): Record<string, string> {
  const values = runValues(services, ports);
  const vars: Record<string, string> = {
    [RUN_ID_VARIABLE]: runId,
    [PORTS_VARIABLE]: JSON.stringify(values.ports),
    [URLS_VARIABLE]: JSON.stringify(values.urls),
  };
  for (const [key, value] of envVars(services, ports)) vars[key] = value;
  return vars;
}

/**
 * The ports and URLs of the leased services, in declaration order.
 *
 * @example
 * runValues(config.services, new Map([['server', 3000]])) // { ports: { server: 3000 }, urls: { server: 'http://localhost:3000' } }
 */
export function runValues(services: readonly ServiceSpec[], ports: ReadonlyMap<string, number>): RunValues {
  const out: RunValues = { ports: {}, urls: {} };
  for (const spec of services) {
    const port = ports.get(spec.name);
    if (port === undefined) continue;
    out.ports[spec.name] = port;
    out.urls[spec.name] = serviceUrl(spec, port);
  }
  return out;
}

/**
 * The run's ports and URLs from the variables {@link runVariables} set; empty
 * when there are none (no global setup, or no config). Malformed JSON is empty too.
 *
 * @example
 * readRunValues(process.env).ports.server // 3000
 */
export function readRunValues(env: Readonly<Record<string, string | undefined>>): RunValues {
  return {
    ports: parseRecord(env[PORTS_VARIABLE], 'number'),
    urls: parseRecord(env[URLS_VARIABLE], 'string'),
  };
}

function parseRecord<K extends 'number' | 'string'>(
  text: string | undefined,
  kind: K,
): Record<string, K extends 'number' ? number : string> {
  const out: Record<string, unknown> = {};
  if (!text) return out as Record<string, K extends 'number' ? number : string>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      for (const [key, value] of Object.entries(parsed)) if (typeof value === kind) out[key] = value;
    }
  } catch {
    // Not ours, or damaged: no values.
  }
  return out as Record<string, K extends 'number' ? number : string>;
}
