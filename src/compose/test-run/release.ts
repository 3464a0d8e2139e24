/**
 * The end of a test run in the registry: every lease of the run goes, whoever
 * owns it. Runners stop their workers with signals, so the workers' exit hooks
 * do not run; the leases say which run they belong to (the run's scope, and
 * the run id in each worker lease's label), and the teardown releases them here.
 */
import { leaseEvent, type RegistryTx, type Scope } from '../../core/registry.js';
import { isRunLabel } from '../../core/test-run.js';
import type { Lease } from '../../core/types.js';

/** One test run, as the registry knows it. */
export interface RunRef {
  runId: string;
  /** The scope its services were leased in (src/core/test-run.ts `runEnvironment`); `null` without a config. */
  scope: Scope | null;
}

/**
 * Inside a transaction: removes the run's service leases (and forgets their
 * history: the scope never comes back) and its workers' ad-hoc leases. Returns
 * what it removed.
 *
 * @example
 * await registry.transaction((tx) => releaseRunIn(tx, { runId, scope }));
 */
export function releaseRunIn(tx: RegistryTx, run: RunRef, now: number): Lease[] {
  const removed: Lease[] = [];
  if (run.scope) {
    for (const lease of tx.scopeLeases(run.scope)) {
      if (tx.lease(lease.id) === null) continue; // went with the service it inherits from
      tx.remove(lease.id, 'released');
      tx.recordEvent(leaseEvent(lease, 'released', now, 'test run ended'));
      removed.push(lease);
    }
    tx.forgetHistory(run.scope);
  }
  // Scans the table: once per run, at its end.
  for (const lease of tx.allLeases()) {
    if (lease.kind !== 'adhoc' || !isRunLabel(lease.service, run.runId)) continue;
    tx.remove(lease.id, 'released');
    removed.push(lease);
  }
  return removed;
}
