/**
 * The environment of a service's command: berth's own, the service's `env`,
 * then what berth publishes (every service's `<NAME>_PORT` and `<NAME>_URL`,
 * the names `berth env` prints) and the service's own `PORT`, which win.
 */
import { envVars } from '../../core/endpoints.js';
import type { ResolvedConfig } from '../../core/types.js';

/**
 * The variables `service`'s command runs with.
 *
 * @example
 * serviceEnv(process.env, config, new Map([['api', 3001], ['db', 5432]]), 'api')
 * // { ...process.env, PORT: '3001', API_PORT: '3001', API_URL: 'http://localhost:3001', DB_PORT: '5432', ... }
 */
export function serviceEnv(
  base: Readonly<Record<string, string | undefined>>,
  config: ResolvedConfig,
  ports: ReadonlyMap<string, number>,
  service: string,
  named?: ReadonlyMap<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  const spec = config.services.find((s) => s.name === service);
  Object.assign(env, spec?.run.env ?? {});
  for (const [key, value] of envVars(config.services, ports, named)) env[key] = value;
  const port = ports.get(service);
  if (port !== undefined) env.PORT = String(port);
  return env;
}
