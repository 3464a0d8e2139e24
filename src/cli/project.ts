/**
 * Opening the project a command works on: config (from --config or found
 * upward), environment (--env, $BERTH_ENV, `development`), and the registry.
 */

import { openAdapters } from '../compose/context.js';
import { createManagerFor, environmentName, type PortManager } from '../compose/manager.js';
import { loadConfig } from '../config/load.js';
import type { ConfigProblem } from '../config/validate.js';

/** The environment a command works in. */
export function environmentOf(values: { env?: string | undefined }): string {
  return environmentName(values.env);
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
