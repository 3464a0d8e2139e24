/**
 * Copying one registry into another (`berth registry copy`): live leases, the
 * port each service had last (history) and the event log, e.g. from this user's
 * SQLite file to the team's etcd. Leases go to this host.
 */

import type { Registry, RegistryEvent, Scope } from '../core/registry.js';
import type { Lease } from '../core/types.js';
import { berthHome, machineProcesses, openChosenRegistry } from './context.js';
import { staleness } from './lease-views.js';

/**
 * Opens a registry named by a URL (`sqlite` or `etcd://...`; the URL wins over BERTH_REGISTRY here).
 *
 * @example
 * const from = await openRegistryAt('sqlite', false);
 */
export async function openRegistryAt(url: string, attachOwned: boolean): Promise<Registry> {
  const processes = machineProcesses();
  const registry = openChosenRegistry({
    configured: url,
    env: { ...process.env, BERTH_REGISTRY: url },
    home: berthHome(),
    now: Date.now,
    processes,
    beforeBatch: () => {},
    attachOwned,
  });
  try {
    await registry.ready?.();
  } catch (error) {
    registry.close();
    throw error;
  }
  return registry;
}

/** What a copy did. */
export interface CopyReport {
  leases: number;
  history: number;
  events: number;
  skipped: { port: number; service: string; why: string }[];
}

/** Every event of a registry, oldest first. */
function allEvents(registry: Registry): RegistryEvent[] {
  const out: RegistryEvent[] = [];
  for (let after = 0; ; ) {
    const page = registry.eventsSince(after, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
    after = page.at(-1)!.id;
  }
}

/**
 * Copies `from` into `to`.
 *
 * @example
 * const report = await copyRegistry(sqlite, etcd);
 */
export async function copyRegistry(from: Registry, to: Registry): Promise<CopyReport> {
  const processes = machineProcesses();
  const now = Date.now();
  const live = from.allLeases().filter((l) => staleness(l, now, processes) === null);
  const events = allEvents(from);
  // History is kept per checkout and environment: every one a lease or an event names.
  const scopes = new Map<string, Scope>();
  for (const s of [...from.allLeases(), ...events]) {
    if (s.dir !== '') scopes.set(`${s.dir}\0${s.environment}`, { dir: s.dir, environment: s.environment });
  }
  const report: CopyReport = { leases: 0, history: 0, events: 0, skipped: [] };
  const liveServices = new Set(live.map((l) => `${l.dir}\0${l.environment}\0${l.service}`));
  const history: { scope: Scope; service: string; port: number; project: string }[] = [];
  for (const scope of scopes.values()) {
    const project =
      events.find((e) => e.dir === scope.dir)?.project ??
      live.find((l) => l.dir === scope.dir)?.project ??
      '';
    for (const [service, port] of from.history(scope)) {
      if (!liveServices.has(`${scope.dir}\0${scope.environment}\0${service}`))
        history.push({ scope, service, port, project });
    }
  }
  // The registry's own API writes history when a service lease is removed: lease, then release.
  const remembered = await Promise.all(
    history.map(({ scope, service, port, project }) =>
      to.transaction((tx) => {
        if (tx.leasedPorts(port, port).length > 0) return false;
        if (tx.scopeLeases(scope).some((l) => l.service === service)) return false;
        const l = tx.insert({
          port,
          kind: 'service',
          project,
          dir: scope.dir,
          environment: scope.environment,
          service,
          inheritsFrom: null,
          owner: null,
          createdAt: now,
          expiresAt: null,
          scheme: null,
        });
        tx.remove(l.id, 'released');
        return true;
      }),
    ),
  );
  report.history = remembered.filter(Boolean).length;
  // Owning leases first: an inheriting lease follows its root.
  const ordered = [...live].sort((a, b) => Number(a.inheritsFrom !== null) - Number(b.inheritsFrom !== null));
  for (const lease of ordered) {
    const { id: _id, ...rest } = lease;
    try {
      await to.transaction((tx) => tx.insert(rest));
      report.leases++;
    } catch (error) {
      report.skipped.push({ port: lease.port, service: describe(lease), why: (error as Error).message });
    }
  }
  await Promise.all(
    events.map((event) => {
      const { id: _id, ...rest } = event;
      return to.transaction((tx) => tx.recordEvent(rest));
    }),
  );
  report.events = events.length;
  return report;
}

function describe(lease: Lease): string {
  return lease.kind === 'adhoc'
    ? `${lease.service} (pid ${lease.owner?.pid ?? '-'})`
    : `${lease.project}/${lease.environment}/${lease.service}`;
}
