/**
 * The leases of one `berth run`: every service is assigned (the command gets
 * every `berth env` variable), the command's own service and those sharing its
 * port belong to the command while it runs, and at the end the run releases
 * what it leased itself: its own service, and the leases it made for other
 * services only to give the command their variables. A lease another service
 * had before the run (`berth assign`, another `berth run`, `berth up`) stays.
 */
import { inheritanceRoot } from '../core/order.js';
import { leaseEvent } from '../core/registry.js';
import type { Lease, LeaseOwner } from '../core/types.js';
import type { AssignResult } from './assign.js';
import { staleness } from './lease-views.js';
import type { PortManager } from './manager.js';
import { checkServiceNames, projectOf } from './project.js';

/** One `berth run`'s leases, from its first assignment to its last release. */
export interface RunLeases {
  /** The service's inheritance root: the lease the command's port comes from. */
  readonly root: string;
  /** The services whose leases belong to the command while it runs (the root's whole inheritance group). */
  readonly tied: readonly string[];
  /**
   * Assigns every service of the project. The leases this run made for other
   * services belong to berth run's own process until {@link release}, so a
   * killed berth run leaves them stale, not reserved forever.
   */
  assign(): Promise<AssignResult>;
  /** Ties the command's leases to its process (pid), once it has started. */
  tie(pid: number): Promise<void>;
  /**
   * Releases the command's own service (with the services sharing its port),
   * and the leases this run made for other services while they are still its
   * own (one another `berth run` or `berth up` took over in the meantime stays).
   */
  release(): Promise<Lease[]>;
}

/**
 * The leases of a `berth run` of `service`, read now: the services leased before
 * this call (live leases) are not the run's to release. Throws
 * `E_UNKNOWN_SERVICE` for a name not in the config.
 *
 * @example
 * const leases = runLeases(pm, 'server');
 * const { services } = await leases.assign();
 * try { ... } finally { await leases.release(); }
 */
export function runLeases(pm: PortManager, service: string): RunLeases {
  const { config, adapters } = pm;
  checkServiceNames(config, [service]);
  const byName = new Map(config.services.map((s) => [s.name, s]));
  const root = inheritanceRoot(service, byName);
  const tied = config.services.filter((s) => inheritanceRoot(s.name, byName) === root).map((s) => s.name);
  const project = projectOf(config, adapters);
  const now = adapters.now();
  const leasedBefore = new Set(
    adapters.registry
      .scopeLeases(project.scope)
      .filter((l) => staleness(l, now, adapters.processes) === null)
      .map((l) => l.service),
  );
  const self = adapters.processes.self();
  const forRun = config.services
    .map((s) => s.name)
    .filter((name) => !leasedBefore.has(name) && !tied.includes(name));

  return {
    root,
    tied,
    async assign() {
      const result = await pm.assignAll();
      if (forRun.length > 0) await pm.setOwner(forRun, self);
      return result;
    },
    async tie(pid) {
      const owner = adapters.processes.owner(pid);
      if (owner) await pm.setOwner(tied, owner);
    },
    async release() {
      const released = await pm.release(root);
      if (forRun.length === 0) return released;
      return [...released, ...(await releaseOwnedBy(pm, forRun, self))];
    },
  };
}

/** Releases the leases of `services` that `owner` still holds, each with a `released` event. */
async function releaseOwnedBy(
  pm: PortManager,
  services: readonly string[],
  owner: LeaseOwner,
): Promise<Lease[]> {
  const { registry, now } = pm.adapters;
  const { scope } = projectOf(pm.config, pm.adapters);
  return registry.transaction(
    (tx) => {
      const at = now();
      const ours = tx
        .scopeLeases(scope)
        .filter((l) => services.includes(l.service) && sameOwner(l.owner, owner));
      const removed: Lease[] = [];
      // Roots first: removing one removes the leases inheriting its port.
      for (const lease of [...ours].sort(
        (a, b) => Number(a.inheritsFrom !== null) - Number(b.inheritsFrom !== null),
      )) {
        if (removed.some((r) => r.port === lease.port && r.inheritsFrom === null)) continue;
        tx.remove(lease.id, 'released');
        tx.recordEvent(leaseEvent(lease, 'released', at, 'released'));
        removed.push(lease);
      }
      return removed;
    },
    { reclaim: false },
  );
}

function sameOwner(a: LeaseOwner | null, b: LeaseOwner): boolean {
  return a !== null && a.pid === b.pid && a.startTime === b.startTime;
}
