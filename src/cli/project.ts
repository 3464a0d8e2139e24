/**
 * Opening the project a command works on: config (from --config or found
 * upward), environment (--env, $BERTH_ENV, `development`), and the registry.
 */

import { createPortManager, environmentName, type PortManager } from '../compose/manager.js';

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
