/**
 * What `berth check` and `berth wait` share: which leases a command means, and
 * the diagnosis of each (port state, holder, health). The facts come from the
 * adapters (a fresh read of the listening sockets, their holders, the process
 * tree, health checks); the verdicts from src/core/diagnose.ts.
 */
import {
  diagnosePort,
  type HealthReport,
  healthWithoutCheck,
  type ServiceDiagnosis,
} from '../core/diagnose.js';
import type { PortHolders } from '../core/facts.js';
import { inheritanceRoot } from '../core/order.js';
import { BerthError } from '../errors.js';
import type { LeaseView } from './lease-views.js';
import type { PortManager } from './manager.js';
import { checkServiceNames } from './project.js';

/**
 * The leases of the named services (all service leases when none are named),
 * in declaration order. Unknown names are `E_UNKNOWN_SERVICE`; a named service
 * without a lease is `E_NOT_FOUND`.
 *
 * @example
 * const [server] = leasedServices(pm, ['server']);
 */
export function leasedServices(pm: PortManager, names: readonly string[]): LeaseView[] {
  checkServiceNames(pm.config, names);
  // pm.leases() holds service leases only, already in config order.
  const leases = pm.leases().filter((l) => names.length === 0 || names.includes(l.service));
  const missing = names.filter((name) => !leases.some((l) => l.service === name));
  if (missing.length > 0) {
    const list = missing.join(', ');
    throw new BerthError(
      'E_NOT_FOUND',
      `${list} ${missing.length === 1 ? 'has' : 'have'} no lease; run \`berth assign ${missing.join(' ')}\` first.`,
      { data: { services: missing } },
    );
  }
  return leases;
}

/**
 * Diagnoses the given leases: port state, holder and health, one row each.
 * Health checks of all services run at once.
 *
 * @example
 * const rows = await diagnoseLeases(pm, leasedServices(pm, []));
 */
export async function diagnoseLeases(
  pm: PortManager,
  leases: readonly LeaseView[],
): Promise<ServiceDiagnosis[]> {
  const { freshListeners, holders, tree, health: checker } = pm.adapters;
  const specs = new Map(pm.config.services.map((s) => [s.name, s]));
  // A fresh read, not the kernel facts' short-lived cache: after --fix moved a lease, or
  // right after a server started, a cached table would report the old truth.
  const listeners = await freshListeners.read();
  const found = new Map<number, Promise<PortHolders>>();
  const holdersOf = (port: number) => {
    let pending = found.get(port);
    if (!pending) {
      pending = holders.find(port, listeners);
      found.set(port, pending);
    }
    return pending;
  };
  const parentOf = (pid: number) => tree.parentOf(pid);
  return Promise.all(
    leases.map(async (lease): Promise<ServiceDiagnosis> => {
      const { state, holder } = diagnosePort(
        { ownerPid: lease.owner?.pid ?? null, stale: lease.state === 'stale' ? lease.reason : null },
        await holdersOf(lease.port),
        parentOf,
      );
      const spec = specs.get(lease.service);
      let health: HealthReport;
      if (spec === undefined) {
        health = { status: 'unknown', reason: 'the service is not in the config', latencyMs: null };
      } else {
        const skipped = healthWithoutCheck(state, spec.health !== null);
        if (skipped) health = skipped;
        else {
          const { status, reason, latencyMs } = await checker.check(spec.health!, lease.port);
          health = { status, reason, latencyMs };
        }
      }
      return {
        service: lease.service,
        port: lease.port,
        root: inheritanceRoot(lease.service, specs),
        state,
        holder: holder ? { pid: holder.pid, command: holder.command } : null,
        ownerPid: lease.owner?.pid ?? null,
        health,
      };
    }),
  );
}
