/**
 * Opening the project a command works on: config (from --config or found
 * upward), environment (--env, $BERTH_ENV, `development`), and the registry.
 */

import { type Adapters, openAdapters } from '../compose/context.js';
import { createManagerFor, type PortManager } from '../compose/manager.js';
import { findConfigFile, loadConfig } from '../config/load.js';
import type { ConfigProblem } from '../config/validate.js';
import { isBerthError } from '../errors.js';

/** The environment a command works in. */
export function environmentOf(values: { env?: string | undefined }): string {
  return values.env ?? process.env.BERTH_ENV ?? 'development';
}

/**
 * Loads the config and opens the registry.
 *
 * @example
 * const pm = await openProject({ env: 'test' }, (w) => console.error(w));
 */
export async function openProject(
  values: { config?: string | undefined; env?: string | undefined },
  warn: (line: string) => void,
): Promise<PortManager> {
  const { config, warnings } = await loadConfig({
    cwd: process.cwd(),
    environment: environmentOf(values),
    ...(values.config ? { file: values.config } : {}),
  });
  for (const w of warnings as ConfigProblem[]) warn(`warning: ${w.path}: ${w.message}`);
  return createManagerFor(config, await openAdapters({ registry: config.registry }));
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
export async function openRegistryHere(
  values: { config?: string | undefined; env?: string | undefined },
  warn: (line: string) => void,
): Promise<Adapters> {
  if ((process.env.BERTH_REGISTRY ?? '').trim() !== '') return openAdapters();
  const file = values.config ?? findConfigFile(process.cwd());
  if (file === null) return openAdapters();
  try {
    const { config } = await loadConfig({ cwd: process.cwd(), environment: environmentOf(values), file });
    return await openAdapters({ registry: config.registry });
  } catch (error) {
    if (!isBerthError(error) || error.code !== 'E_CONFIG') throw error;
    warn(`warning: ${error.message} (its registry key is not read; using the default registry)`);
    return openAdapters();
  }
}
