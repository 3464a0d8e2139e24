/**
 * `defineConfig` to type a `berth.config.ts`. The types of a config file as users
 * write it are generated from the schema (schema.ts) into user-config.generated.ts
 * by scripts/gen-schema.mjs, each field's JSDoc from the schema's description.
 */
import type { UserConfig } from './user-config.generated.js';

export type {
  UserConfig,
  UserEnvironmentConfig,
  UserHealthConfig,
  UserOverridableSettings,
  UserPortRange,
  UserReadyConfig,
  UserServiceConfig,
} from './user-config.generated.js';

/**
 * Types a `berth.config.ts`; returns its argument unchanged.
 *
 * @example
 * // berth.config.ts
 * import { defineConfig } from 'berth-ports';
 * export default defineConfig({
 *   services: { server: { preferred: [3000] }, websocket: { inheritFrom: 'server', requires: ['websocket'] } },
 * });
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
