/**
 * Ports for one test worker: leased in the shared registry for the worker's
 * process (so no other worker, runner process, shard or checkout gets them),
 * the same port for the same name for the worker's whole life, and released
 * when it exits, or by the run's teardown when the runner kills it.
 */
import { DEFAULT_POOL, POOL_WELL_KNOWN_PORTS } from '../../core/policy.js';
import { isRunId, RUN_ID_VARIABLE, type TestRunner, workerLabel } from '../../core/test-run.js';
import { BerthError } from '../../errors.js';
import { type GetPortContext, getPortContext } from '../get-port.js';
import { shown } from './options.js';

/**
 * Most ports one `workerPorts(n)` call may ask for. Worker ports come from the
 * default pool (DEFAULT_POOL, about 9,990 ports shared by every process of the
 * machine): a worker that needs more than a few hundred is a bug, and a call
 * that could drain the pool would starve every other process until it exits.
 */
export const WORKER_PORTS_MAX = 256;

/** Ports of the pool the worker ports come from (its well-known ports are never handed out). */
export const WORKER_POOL_SIZE = DEFAULT_POOL.max - DEFAULT_POOL.min + 1 - POOL_WELL_KNOWN_PORTS.size;

/** A port leased for a name, and whether this lease was made by the call that asked (not found held). */
interface NamedLease {
  port: number;
  fresh: boolean;
}

/**
 * Ports this process leased by name, per getPort context (a promise each, so that
 * calls at once share one lease).
 */
const leasedIn = new WeakMap<GetPortContext, Map<string, Promise<NamedLease>>>();

/** Who asks: the runner and the worker's id as the runner numbers it (`null` outside a worker). */
export interface WorkerRef {
  runner: TestRunner;
  worker: string | null;
  /** Where the run id is read; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The getPort state (registry) the ports are leased through; default this process's (`getPortContext()`). */
  context?: GetPortContext;
}

/**
 * A port leased for this worker under `name`: the same port for the same name
 * while the process lives. The lease is labelled with the runner, the worker and,
 * inside a run (`BERTH_RUN_ID`, set by berth's global setup), the run id.
 * Rejects with `E_USAGE` when `name` is not a non-empty string.
 *
 * @example
 * const port = await leaseWorkerPort({ runner: 'vitest', worker: process.env.VITEST_POOL_ID ?? null }, 'api');
 */
export async function leaseWorkerPort(ref: WorkerRef, name: unknown = 'port'): Promise<number> {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new BerthError(
      'E_USAGE',
      `workerPort(name): name must be a non-empty string, got ${shown(name)}. Pass a name for the port, e.g. workerPort('api'), or nothing for the default name "port".`,
      { data: { name: shown(name) } },
    );
  }
  return (await leaseNamed(ref, name)).port;
}

/** The lease for `name`, shared by the calls that ask at once; a failed lease is not remembered. */
function leaseNamed(ref: WorkerRef, name: string): Promise<NamedLease> {
  const context = ref.context ?? getPortContext();
  let leased = leasedIn.get(context);
  if (!leased) {
    leased = new Map();
    leasedIn.set(context, leased);
  }
  let lease = leased.get(name);
  if (lease === undefined) {
    const env = ref.env ?? process.env;
    const runId = env[RUN_ID_VARIABLE];
    const label = workerLabel({
      runner: ref.runner,
      worker: ref.worker,
      name,
      runId: isRunId(runId) ? runId : null,
    });
    const map = leased;
    lease = leaseOnce(context, label);
    // A failed lease is not remembered: the next call tries again.
    lease.catch(() => map.delete(name));
    map.set(name, lease);
  }
  return lease;
}

/**
 * The port this process already holds under `label`, else a new lease. Jest gives
 * every test file a module registry of its own, so the map above starts empty in
 * each file of a worker; the registry remembers for the whole process.
 */
async function leaseOnce(context: GetPortContext, label: string): Promise<NamedLease> {
  const self = context.adapters.processes.self();
  // The etcd registry opens in the background: its reads wait until it has loaded.
  await context.adapters.registry.ready?.();
  const held = context.adapters.registry
    .leasesOwnedBy(self.pid)
    .find((l) => l.kind === 'adhoc' && l.service === label && l.owner?.startTime === self.startTime);
  return held ? { port: held.port, fresh: false } : { port: await context.getPort({ label }), fresh: true };
}

/**
 * `count` ports leased for this worker, the same ones on every call (`count`
 * may grow: the first ports stay). All or nothing: when one lease fails, the
 * ports this call leased are released before it rejects. Rejects with
 * `E_USAGE` when `count` is not a whole number from 0 to {@link WORKER_PORTS_MAX}.
 *
 * @example
 * const [api, db] = await leaseWorkerPorts({ runner: 'jest', worker: process.env.JEST_WORKER_ID ?? null }, 2);
 */
export async function leaseWorkerPorts(ref: WorkerRef, count: unknown): Promise<number[]> {
  const max = Math.min(WORKER_PORTS_MAX, WORKER_POOL_SIZE);
  if (typeof count !== 'number') {
    throw new BerthError(
      'E_USAGE',
      `workerPorts(n): n must be a number, got ${shown(count)}. Pass the number of ports as a number, e.g. workerPorts(2).`,
      { data: { count: shown(count), max } },
    );
  }
  if (!Number.isInteger(count) || count < 0 || count > max) {
    throw new BerthError(
      'E_USAGE',
      `workerPorts(n): n must be a whole number from 0 to ${max}, got ${count}. Pass the number of ports this worker needs, e.g. workerPorts(2)${count > max ? `; for more than ${max}, lease them in groups with workerPort(name)` : ''}.`,
      { data: { count, max } },
    );
  }
  const context = ref.context ?? getPortContext();
  const names = Array.from({ length: count }, (_, i) => `ports[${i}]`);
  const before = new Set(names.filter((n) => leasedIn.get(context)?.has(n)));
  const results = await Promise.allSettled(names.map((n) => leaseNamed({ ...ref, context }, n)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed === undefined) return results.map((r) => (r as PromiseFulfilledResult<NamedLease>).value.port);
  // Nothing partial stays: the ports this call leased go back, the ones held before stay.
  await Promise.all(
    results.map(async (r, i) => {
      if (r.status !== 'fulfilled' || !r.value.fresh || before.has(names[i]!)) return;
      leasedIn.get(context)?.delete(names[i]!);
      await context.release(r.value.port).catch(() => false);
    }),
  );
  throw failed.reason;
}
