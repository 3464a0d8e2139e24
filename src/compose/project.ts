/**
 * The project a port manager works on: one checkout (folder) in one
 * environment, its resolved config and the adapters. Every step of the
 * manager (src/compose/manager.ts, src/compose/assign.ts) takes it explicitly.
 */
import { unknownServiceError } from '../core/decisions.js';
import { basePolicy, type PortPolicy } from '../core/policy.js';
import type { Scope } from '../core/registry.js';
import type { ResolvedConfig, ServiceSpec } from '../core/types.js';
import type { Adapters } from './context.js';

/** One checkout in one environment, with what it runs on. */
export interface Project {
  readonly config: ResolvedConfig;
  readonly adapters: Adapters;
  /** This checkout and environment: the leases that are "ours". */
  readonly scope: Scope;
  /** The config's services by name. */
  readonly specs: ReadonlyMap<string, ServiceSpec>;
}

/**
 * The project of a resolved config.
 *
 * @example
 * const project = projectOf(config, createAdapters());
 */
export function projectOf(config: ResolvedConfig, adapters: Adapters): Project {
  return {
    config,
    adapters,
    scope: { dir: config.dir, environment: config.environment },
    specs: new Map(config.services.map((s) => [s.name, s])),
  };
}

/**
 * Throws `E_UNKNOWN_SERVICE` for the first of `names` that is not a service of the config.
 *
 * @example
 * checkServiceNames(pm.config, ['server', 'nope']); // throws: unknown service "nope" in shop. Known services: ...
 */
export function checkServiceNames(config: ResolvedConfig, names: readonly string[]): void {
  for (const name of names) {
    if (!config.services.some((s) => s.name === name)) {
      throw unknownServiceError(
        name,
        config.services.map((s) => s.name),
        config.project,
      );
    }
  }
}

/** The ports this machine and config allow: the kernel's ephemeral and excluded ranges, and the config's `exclude`. */
export function policyOf({ config, adapters: { kernel } }: Project): PortPolicy {
  const excluded = [...kernel.excludedRanges(), ...config.exclude.map((p) => ({ min: p, max: p }))];
  return basePolicy({ ephemeral: kernel.ephemeralRange(), excluded });
}
