/**
 * Opening the project a command works on: config (from --config or found
 * upward), environment (--env, $BERTH_ENV, `development`), and the registry.
 */

import type { Adapters } from '../compose/context.js';
import { createPortManager, environmentName, type PortManager } from '../compose/manager.js';
import { openRegistryFrom } from '../compose/registry-here.js';

/** The environment a command works in. */
export function environmentOf(values: { env?: string | undefined }): string {
  return environmentName(values.env);
}

/**
 * Loads the config (warnings go to `warn`) and opens the registry it names.
 *
 * @example
 * const pm = await openProject({ env: 'test' }, (w) => console.error(w));
 */
export function openProject(
  values: { config?: string | undefined; env?: string | undefined },
  warn: (line: string) => void,
): Promise<PortManager> {
  return createPortManager({
    environment: values.env,
    ...(values.config ? { configFile: values.config } : {}),
    onWarning: (w) => warn(`warning: ${w.path}: ${w.message}`),
  });
}

/**
 * Opens the registry for a command that needs no config (`ls --all-projects`,
 * `ls --all-hosts`, `who`): `$BERTH_REGISTRY`, else the `registry` of the config found
 * from here (the registry `berth assign` would use here), else SQLite. A config that
 * does not load is reported and passed over: these commands work without one.
 *
 * @example
 * const adapters = await openRegistryHere({}, io.err);
 */
export function openRegistryHere(
  values: { config?: string | undefined; env?: string | undefined },
  warn: (line: string) => void,
): Promise<Adapters> {
  return openRegistryFrom({
    cwd: process.cwd(),
    environment: environmentOf(values),
    ...(values.config ? { configFile: values.config } : {}),
    onWarning: warn,
  });
}
