/**
 * A resolved service for tests of the pure core, as the config resolver makes it:
 * the defaults of every key, `over` on top, and a run without a command (or with
 * `run`'s keys) in `dir`.
 */
import { leaseOnly } from '../../src/core/stack.js';
import type { RunSpec, ServiceSpec } from '../../src/core/types.js';

export function serviceSpec(
  name: string,
  over: Partial<ServiceSpec> = {},
  run: Partial<RunSpec> = {},
  dir = '/w',
): ServiceSpec {
  return {
    name,
    preferred: [],
    range: null,
    priority: 'medium',
    requires: ['http'],
    conflicts: [],
    inheritFrom: null,
    envVar: `${name.toUpperCase()}_PORT`,
    allowPrivileged: false,
    health: null,
    run: { ...leaseOnly(dir), ...run },
    ...over,
  };
}
