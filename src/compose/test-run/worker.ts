/**
 * Ports for one test worker: leased in the shared registry for the worker's
 * process (so no other worker, runner process, shard or checkout gets them),
 * the same port for the same name for the worker's whole life, and released
 * when it exits, or by the run's teardown when the runner kills it.
 */
import { isRunId, RUN_ID_VARIABLE, type TestRunner, workerLabel } from '../../core/test-run.js';
import { BerthError } from '../../errors.js';
import { getPortContext } from '../get-port.js';

/** Ports this process leased by name (a promise each, so that calls at once share one lease). */
const leased = new Map<string, Promise<number>>();

/** Who asks: the runner and the worker's id as the runner numbers it (`null` outside a worker). */
export interface WorkerRef {
  runner: TestRunner;
  worker: string | null;
  /** Where the run id is read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A port leased for this worker under `name`: the same port for the same name
 * while the process lives. The lease is labelled with the runner, the worker and,
 * inside a run (`BERTH_RUN_ID`, set by berth's global setup), the run id.
 *
 * @example
 * const port = await leaseWorkerPort({ runner: 'vitest', worker: process.env.VITEST_POOL_ID ?? null }, 'api');
 */
export function leaseWorkerPort(ref: WorkerRef, name = 'port'): Promise<number> {
  let port = leased.get(name);
  if (port === undefined) {
    const env = ref.env ?? process.env;
    const runId = env[RUN_ID_VARIABLE];
    const label = workerLabel({
      runner: ref.runner,
      worker: ref.worker,
      name,
      runId: isRunId(runId) ? runId : null,
    });
    port = leaseOnce(label);
    // A failed lease is not remembered: the next call tries again.
    port.catch(() => leased.delete(name));
    leased.set(name, port);
  }
  return port;
}

/**
 * The port this process already holds under `label`, else a new lease. Jest gives
 * every test file a module registry of its own, so the map above starts empty in
 * each file of a worker; the registry remembers for the whole process.
 */
async function leaseOnce(label: string): Promise<number> {
  const context = getPortContext();
  const self = context.adapters.processes.self();
  const held = context.adapters.registry
    .leasesOwnedBy(self.pid)
    .find((l) => l.kind === 'adhoc' && l.service === label && l.owner?.startTime === self.startTime);
  return held ? held.port : context.getPort({ label });
}

/**
 * `count` ports leased for this worker, the same ones on every call (`count`
 * may grow: the first ports stay).
 *
 * @example
 * const [api, db] = await leaseWorkerPorts({ runner: 'jest', worker: process.env.JEST_WORKER_ID ?? null }, 2);
 */
export function leaseWorkerPorts(ref: WorkerRef, count: number): Promise<number[]> {
  if (!Number.isInteger(count) || count < 0) {
    return Promise.reject(
      new BerthError(
        'E_USAGE',
        `workerPorts(${count}) asks for no whole number of ports. Pass 0 or more, e.g. workerPorts(2).`,
      ),
    );
  }
  return Promise.all(Array.from({ length: count }, (_, i) => leaseWorkerPort(ref, `ports[${i}]`)));
}
