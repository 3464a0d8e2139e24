/**
 * Names in the composition: registering a checkout (the label it keeps for
 * good), the name of a lease, and the directory the daemon's proxy routes by:
 * the pure table of src/core/names.ts over the registry's leases, the
 * registered checkouts and the services their configs declare, rebuilt when a
 * lease changes.
 */

import { schemeOf } from '../core/endpoints.js';
import {
  type CheckoutName,
  chooseCheckoutLabel,
  dnsLabel,
  hostName,
  isNameable,
  NAMES_ENVIRONMENT,
  type NameRoute,
  nameTable,
} from '../core/names.js';
import { isRunEnvironment } from '../core/test-run.js';
import type { Lease, ResolvedConfig } from '../core/types.js';
import type { Adapters } from './context.js';
import { staleness } from './lease-views.js';

/** Longest the directory serves a table while no lease event arrives (a lease's owner may die without one), in ms. */
export const NAME_TABLE_MAX_AGE_MS = 1_000;

/** A project name's label: `My Shop` is `my-shop`; a name with nothing usable is `project`. */
export function projectLabel(project: string): string {
  return dnsLabel(project) || 'project';
}

/**
 * The checkout `dir` is registered as, registering it now if it is not (the
 * first registration of a project's folder decides its label for good). A
 * registry problem is logged and gives `null`: names are a convenience that
 * must never fail an assignment.
 *
 * @example
 * registerCheckout(adapters, '/work/shop', 'shop') // { dir: '/work/shop', project: 'shop', label: '' }
 */
export function registerCheckout(
  adapters: Pick<Adapters, 'checkouts' | 'worktrees' | 'log'>,
  dir: string,
  project: string,
): CheckoutName | null {
  const label = projectLabel(project);
  try {
    const row = adapters.checkouts.get(dir);
    if (row !== null && row.project === label) return row;
    const facts = adapters.worktrees.facts(dir);
    return adapters.checkouts.register(
      dir,
      label,
      (taken) => chooseCheckoutLabel(facts, label, taken),
      (other) => !adapters.worktrees.exists(other),
    );
  } catch (error) {
    adapters.log(`berth: could not register ${dir} for names: ${(error as Error).message}`);
    return null;
  }
}

/**
 * Registers the checkout of a config, unless it is a test run's scope (whose
 * leases get no names).
 */
export function registerConfigCheckout(
  adapters: Pick<Adapters, 'checkouts' | 'worktrees' | 'log'>,
  config: Pick<ResolvedConfig, 'dir' | 'project' | 'environment'>,
): CheckoutName | null {
  if (isRunEnvironment(config.environment)) return null;
  return registerCheckout(adapters, config.dir, config.project);
}

/**
 * The host name of a lease in its checkout, or `null` when it gets none
 * (ad-hoc, a test run's, a TCP or TLS service).
 *
 * @example
 * leaseName(lease, checkout) // 'web.shop.localhost'
 */
export function leaseName(
  lease: Pick<Lease, 'kind' | 'scheme' | 'environment' | 'service'>,
  checkout: CheckoutName | null | undefined,
): string | null {
  if (!checkout || lease.kind !== 'service' || !isNameable(lease.scheme)) return null;
  if (isRunEnvironment(lease.environment)) return null;
  return hostName(lease.service, lease.environment, checkout);
}

/** Every registered checkout by folder. */
export function checkoutsByDir(adapters: Pick<Adapters, 'checkouts'>): Map<string, CheckoutName> {
  return new Map(adapters.checkouts.all().map((c) => [c.dir, c]));
}

/** The services a checkout's config declares (default environment), or `null` when it cannot be loaded. */
export type DeclaredServices = (dir: string) => Promise<ResolvedConfig | null>;

/** Options of {@link NameDirectory}. */
export interface NameDirectoryOptions {
  adapters: Adapters;
  /** The config of a checkout in the default environment (the daemon's config cache). */
  configs: DeclaredServices;
  /** Changes whenever a lease changes (the daemon's event hub's version). */
  version: () => number;
  /** Default {@link NAME_TABLE_MAX_AGE_MS}. */
  maxAgeMs?: number;
}

/**
 * Every name the proxy knows, kept current: rebuilt when the registry's event
 * log moves or after {@link NAME_TABLE_MAX_AGE_MS}, one rebuild at a time.
 * Folders with leases and no checkout row yet (leased before names existed,
 * or by an older berth) are registered on the way.
 */
export class NameDirectory {
  private current: { table: Map<string, NameRoute>; version: number; at: number } | null = null;
  private building: Promise<Map<string, NameRoute>> | null = null;

  constructor(private readonly options: NameDirectoryOptions) {}

  /** The table, rebuilt first when stale. */
  async table(): Promise<Map<string, NameRoute>> {
    const fresh = this.fresh();
    if (fresh !== null) return fresh;
    this.building ??= this.build().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  /** The table if it is fresh, else `null` (then {@link table} rebuilds it): the proxy's path without a promise. */
  fresh(): Map<string, NameRoute> | null {
    const { version, adapters } = this.options;
    const current = this.current;
    const maxAge = this.options.maxAgeMs ?? NAME_TABLE_MAX_AGE_MS;
    if (current && current.version === version() && adapters.now() - current.at < maxAge)
      return current.table;
    return null;
  }

  /** Forgets the table: the next lookup rebuilds it. */
  invalidate(): void {
    this.current = null;
  }

  private async build(): Promise<Map<string, NameRoute>> {
    const { adapters, configs } = this.options;
    const version = this.options.version();
    const now = adapters.now();
    const leases = adapters.registry.allLeases();
    const known = new Set(adapters.checkouts.all().map((c) => c.dir));
    for (const lease of leases) {
      if (lease.kind !== 'service' || known.has(lease.dir) || isRunEnvironment(lease.environment)) continue;
      known.add(lease.dir);
      registerCheckout(adapters, lease.dir, lease.project);
    }
    const checkouts = adapters.checkouts.all().filter((c) => adapters.worktrees.exists(c.dir));
    const declared = [];
    for (const checkout of checkouts) {
      const config = await configs(checkout.dir).catch(() => null);
      if (config === null) continue;
      const history = adapters.registry.history({ dir: checkout.dir, environment: NAMES_ENVIRONMENT });
      for (const spec of config.services) {
        declared.push({
          dir: checkout.dir,
          service: spec.name,
          scheme: schemeOf(spec),
          lastPort: history.get(spec.name) ?? null,
        });
      }
    }
    const table = nameTable({
      checkouts,
      leases: leases.map((lease) => ({ lease, live: staleness(lease, now, adapters.processes) === null })),
      declared,
    });
    this.current = { table, version, at: now };
    return table;
  }
}
