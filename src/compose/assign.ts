/**
 * Assigning services, step by step: read the machine's facts (outside the
 * registry's lock), allocate in one transaction (plan with src/core/planner.ts,
 * then apply the plan), confirm every newly leased port with one real bind,
 * and when a bind finds a port busy, give it back and go round again without it.
 */
import { schemeOf, serviceUrl } from '../core/endpoints.js';
import { planPorts } from '../core/planner.js';
import { leaseEvent, type NewLease, type RegistryTx } from '../core/registry.js';
import type { ConflictStrategy, Decision, Lease, LeaseOwner, Plan } from '../core/types.js';
import { BerthError } from '../errors.js';
import { foreignHolders } from './foreign.js';
import { staleness } from './lease-views.js';
import { registerConfigCheckout } from './names.js';
import { checkServiceNames, type Project, policyOf } from './project.js';
import { reclaimBlockers } from './reclaim.js';
import { TxSnapshot } from './snapshot.js';

/** Options of one assignment. */
export interface AssignOptions {
  /** Overrides the config's strategy for this call. */
  strategy?: ConflictStrategy;
  /** Ties the leases to this process (released when it dies); default: none, the lease lives until released. */
  owner?: LeaseOwner | null;
  /** Lease lifetime in milliseconds; default: no expiry. */
  ttlMs?: number | null;
}

/** One service's port in an assignment result. */
export interface ServicePort {
  port: number;
  strategy: Decision['strategy'];
  url: string;
}

/** What `assignAll()` / `berth assign --json` returns. */
export interface AssignResult {
  project: string;
  environment: string;
  services: Record<string, ServicePort>;
  decisions: Decision[];
}

/** What one round plans from besides the registry: read before the transaction, never under its lock. */
interface MachineFacts {
  /** Ports with a listener; `null` when not read (every service keeps its lease, or no table here). */
  listening: ReadonlySet<number> | null;
  /** Ports of this project's leases that a process berth did not lease holds, with that process. */
  foreignHeld: ReadonlyMap<number, string>;
}

/**
 * Assigns `names` (their inheritance chains come along): up to `maxRetries + 1`
 * rounds of read, allocate, confirm. Throws `E_UNKNOWN_SERVICE` for a name not
 * in the config, `E_NO_PORT` when ports keep turning out busy on bind.
 *
 * @example
 * const result = await assignServices(projectOf(config, adapters), ['server'], {});
 */
export async function assignServices(
  project: Project,
  names: readonly string[],
  opts: AssignOptions = {},
): Promise<AssignResult> {
  checkServiceNames(project.config, names);
  const { registry } = project.adapters;
  const busy = new Set<number>();
  const attempts = project.config.maxRetries + 1;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const facts = await readFacts(project, names, attempt > 0);
    const { plan, toConfirm } = await registry.transaction((tx) =>
      allocate(project, tx, names, opts, facts, busy),
    );
    const failed = await confirmBinds(project, toConfirm);
    if (failed.length === 0) {
      // The checkout's name is decided when it first leases (src/compose/names.ts).
      registerConfigCheckout(project.adapters, project.config);
      return assignResult(project, plan);
    }
    // The kernel's table missed a listener (it started between the read and the bind):
    // give the port back and plan again without it.
    for (const port of failed) busy.add(port);
    await giveBack(project, failed);
  }
  throw new BerthError(
    'E_NO_PORT',
    `ports kept turning out busy when bound (${[...busy].join(', ')}) after ${attempts} attempts. Another program is grabbing ports; raise maxRetries or free them (berth who <port>).`,
    { data: { ports: [...busy] } },
  );
}

/**
 * The machine's facts for one round. The kernel's table, slow to read on large
 * machines, is read only when planning will look for free ports (or on a retry);
 * the foreign holders only matter for leases with an owner.
 */
async function readFacts(project: Project, names: readonly string[], retry: boolean): Promise<MachineFacts> {
  const { registry, kernel } = project.adapters;
  // One read of the scope's leases serves both (the transaction reads again under its lock).
  const leases = registry.scopeLeases(project.scope);
  let listening: ReadonlySet<number> | null = null;
  if (retry || needsKernelFacts(project, names, leases)) {
    await kernel.refresh();
    listening = kernel.listeningPorts() ?? (await probeWanted(project, names));
  }
  return { listening, foreignHeld: await foreignHolders(project.adapters, leases) };
}

/** The ports `names` want by name: their preferred ports and the ports they had last time. */
function wantedPorts(
  project: Project,
  names: readonly string[],
  last: ReadonlyMap<string, number>,
): number[] {
  return project.config.services
    .filter((s) => names.includes(s.name))
    .flatMap((s) => [...s.preferred, last.get(s.name) ?? []].flat());
}

/**
 * Without the kernel's table (macOS, Windows, no /proc): the ports the services want by
 * name (preferred, last time's), each checked by a bind, so a stranger on one is planned
 * around as the table would have it, instead of being leased and given back. Ports a
 * range scan finds are confirmed by the bind after the transaction.
 */
async function probeWanted(project: Project, names: readonly string[]): Promise<ReadonlySet<number>> {
  const { config, scope, adapters } = project;
  const busy = new Set<number>();
  for (const port of new Set(wantedPorts(project, names, adapters.registry.history(scope)))) {
    if ((await adapters.probe.check(port, config.healthCheckTimeout)) === 'busy') busy.add(port);
  }
  return busy;
}

/**
 * Whether planning `names` will look for free ports: false when every service
 * keeps a live lease (the steady state of `berth get`).
 */
function needsKernelFacts(project: Project, names: readonly string[], leases: readonly Lease[]): boolean {
  const { now, processes } = project.adapters;
  const held = new Set(leases.filter((l) => staleness(l, now(), processes) === null).map((l) => l.service));
  return names.some((n) => !held.has(n));
}

/**
 * One allocating transaction: plan from the registry's state and the facts, then
 * apply. Returns the plan and the ports to confirm. The batch it runs in has
 * already reclaimed stale leases (src/compose/reclaim.ts).
 */
function allocate(
  project: Project,
  tx: RegistryTx,
  targets: readonly string[],
  opts: AssignOptions,
  facts: MachineFacts,
  busy: ReadonlySet<number>,
): { plan: Plan; toConfirm: number[] } {
  const { config, scope } = project;
  const now = project.adapters.now();
  // The leases on the ports these services want by name (preferred, last time's) get their
  // owners fully checked: the batch's sweep trusts young owners on kill(pid, 0), which a zombie passes.
  const last = tx.history(scope);
  const wanted = wantedPorts(project, targets, last);
  reclaimBlockers(
    tx,
    wanted.flatMap((p) => tx.leasesInRange(p, p)),
    project.adapters.processes,
    now,
  );
  const plan = planOrReclaim(project, targets, tx, () => ({
    services: config.services,
    targets,
    strategy: opts.strategy ?? config.strategy,
    autoReassign: config.autoReassign,
    scope,
    leases: tx.scopeLeases(scope),
    history: tx.history(scope),
    foreignHeld: facts.foreignHeld,
    occupancy: new TxSnapshot(tx, facts.listening, busy),
    policy: policyOf(project),
    avoid: busy,
  }));
  const leases = tx.scopeLeases(scope);
  const writing: Writing = {
    project,
    tx,
    plan,
    now,
    owner: opts.owner ?? null,
    expiresAt: opts.ttlMs ? now + opts.ttlMs : null,
    retie: opts.owner !== undefined || opts.ttlMs !== undefined,
  };
  const toConfirm = applyRoots(writing, leases);
  applyInheritors(writing);
  return { plan, toConfirm };
}

/**
 * Plans; when no port is free for a service, the owners of every lease in the ranges of
 * the services asked for get the full check, and the plan is made once more if any died.
 */
function planOrReclaim(
  project: Project,
  targets: readonly string[],
  tx: RegistryTx,
  input: () => Parameters<typeof planPorts>[0],
): Plan {
  try {
    return planPorts(input());
  } catch (error) {
    if (!(error instanceof BerthError) || error.code !== 'E_NO_PORT') throw error;
    const policy = policyOf(project);
    const regions = project.config.services
      .filter((s) => targets.includes(s.name))
      .map((s) => s.range ?? policy.pool);
    const inRegions = regions.flatMap((r) => tx.leasesInRange(r.min, r.max));
    if (!reclaimBlockers(tx, inRegions, project.adapters.processes, project.adapters.now())) throw error;
    return planPorts(input());
  }
}

/** What applying one plan needs. */
interface Writing {
  project: Project;
  tx: RegistryTx;
  plan: Plan;
  now: number;
  owner: LeaseOwner | null;
  expiresAt: number | null;
  /** The call named an owner or a lifetime: leases that stay are re-tied to them. */
  retie: boolean;
}

/**
 * Writes the plan's own ports (services that inherit none): moves and new leases,
 * each with its event; leases that stay are re-tied when asked. Returns the ports
 * newly leased, for the bind to confirm.
 */
function applyRoots(w: Writing, leases: readonly Lease[]): number[] {
  const { tx, plan } = w;
  const mine = new Map(leases.map((l) => [l.service, l]));
  const roots = plan.assignments.filter((a) => a.inheritsFrom === null);
  // Remove every moving lease before inserting anything: a loser's old port may be its winner's new one,
  // and the UNIQUE port index must hold at every statement.
  for (const a of roots) {
    const lease = mine.get(a.service);
    if (lease && lease.port !== a.port) tx.remove(lease.id, 'released');
  }
  const toConfirm: number[] = [];
  for (const a of roots) {
    const lease = mine.get(a.service);
    if (lease && lease.port === a.port) {
      if (w.retie) tx.setOwner(lease.id, w.owner, w.expiresAt);
      continue;
    }
    tx.insert(newLease(w, a.service, a.port, null));
    recordAssigned(w, lease ? 'moved' : 'assigned', a.service, a.port, lease?.port ?? null);
    toConfirm.push(a.port);
  }
  return toConfirm;
}

/** Writes the inheriting services' rows: they follow their root (removing a root removed its inheritors). */
function applyInheritors(w: Writing): void {
  const { tx, plan, project } = w;
  const current = new Map(tx.scopeLeases(project.scope).map((l) => [l.service, l]));
  for (const a of plan.assignments) {
    if (a.inheritsFrom === null) continue;
    const lease = current.get(a.service);
    if (lease && lease.port === a.port) {
      if (w.retie) tx.setOwner(lease.id, w.owner, w.expiresAt);
      continue;
    }
    if (lease) tx.remove(lease.id, 'released');
    tx.insert(newLease(w, a.service, a.port, a.inheritsFrom));
  }
}

/** A lease row for `service` on `port` in this project, owned and timed as the call asked. */
function newLease(w: Writing, service: string, port: number, inheritsFrom: string | null): NewLease {
  const { config, scope, specs } = w.project;
  return {
    port,
    kind: 'service',
    project: config.project,
    dir: scope.dir,
    environment: scope.environment,
    service,
    inheritsFrom,
    owner: w.owner,
    createdAt: w.now,
    expiresAt: w.expiresAt,
    scheme: schemeOf(specs.get(service)!),
  };
}

/** Records an `assigned` or `moved` event, with the decision's message as its detail. */
function recordAssigned(
  w: Writing,
  type: 'assigned' | 'moved',
  service: string,
  port: number,
  fromPort: number | null,
): void {
  const { config, scope } = w.project;
  const detail = w.plan.decisions.find((d) => d.service === service)?.message ?? '';
  w.tx.recordEvent(
    leaseEvent({ project: config.project, ...scope, service, port }, type, w.now, detail, fromPort),
  );
}

/** Binds each newly leased port once; returns those a bind found busy. */
async function confirmBinds(project: Project, ports: readonly number[]): Promise<number[]> {
  const failed: number[] = [];
  for (const port of ports) {
    if ((await project.adapters.probe.check(port, project.config.healthCheckTimeout)) === 'busy') {
      failed.push(port);
    }
  }
  return failed;
}

/** Releases this project's leases on `ports` (their inheritors go with them). */
async function giveBack(project: Project, ports: readonly number[]): Promise<void> {
  await project.adapters.registry.transaction(
    (tx) => {
      for (const lease of tx.scopeLeases(project.scope)) {
        if (ports.includes(lease.port) && lease.inheritsFrom === null) tx.remove(lease.id, 'released');
      }
    },
    { reclaim: false },
  );
}

/** The result of a plan: each assigned service's port, strategy and URL, and every decision. */
function assignResult({ config, specs }: Project, plan: Plan): AssignResult {
  const services: Record<string, ServicePort> = {};
  for (const a of plan.assignments) {
    services[a.service] = {
      port: a.port,
      strategy: a.strategy,
      url: serviceUrl(specs.get(a.service)!, a.port),
    };
  }
  return {
    project: config.project,
    environment: config.environment,
    services,
    decisions: [...plan.decisions],
  };
}
