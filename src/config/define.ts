/**
 * The shape of a config file as users write it, and `defineConfig` to type a
 * `berth.config.ts`. Mirrors schema.ts (a test keeps the two in step).
 */
import type { ConflictStrategy, Priority, Requirement, RestartPolicy, StopSignal } from '../core/types.js';

/** An inclusive port range as written in a config. */
export interface UserPortRange {
  /** Lowest port of the range (1-65535). */
  min: number;
  /** Highest port of the range (1-65535), at least `min`. */
  max: number;
}

/** A health check as written in a config; every field is optional. */
export interface UserHealthConfig {
  /** `tcp`: a connection is accepted; `http`: a GET answers. Default: http when `path` or `expectStatus` is set, else derived from `requires`. */
  type?: 'tcp' | 'http';
  /** Path to GET for http checks, starting with `/`. Default `/`. */
  path?: string;
  /** Exact status the http check expects (100-599). Default: any status below 500. */
  expectStatus?: number;
  /** Milliseconds between checks (100-3600000). Default 1000. */
  intervalMs?: number;
  /** Milliseconds one check may take (1-600000). Default: the top-level `healthCheckTimeout`. */
  timeoutMs?: number;
}

/** A `ready` check as written in a config: a health check's keys, or a command, or a line of output. */
export interface UserReadyConfig {
  /** `tcp`, `http`, `command` (ready when it exits 0) or `output` (ready at a line matching `pattern`). Default: from the keys given. */
  type?: 'tcp' | 'http' | 'command' | 'output';
  /** Path to GET for http checks, starting with `/`. Default `/`. */
  path?: string;
  /** Exact status the http check expects (100-599). Default: any status below 500. */
  expectStatus?: number;
  /** Milliseconds between checks (100-3600000). Default 1000. */
  intervalMs?: number;
  /** Milliseconds one check may take (1-600000); a command is killed after it. Default: the top-level `healthCheckTimeout`. */
  timeoutMs?: number;
  /** For a command check: a shell line (with the service's variables, `$PORT`), or a list run directly (`{port}` replaced). */
  command?: string | string[];
  /** For an output check: a regular expression matched against each line of the service's output, colour codes removed. */
  pattern?: string;
}

/** One service as written in a config. */
export interface UserServiceConfig {
  /** Ports to try in order, after the port the service had last time. Unique, 1-65535. */
  preferred?: number[];
  /** Range to scan when no preferred port is free. Default: none when `preferred` is given, else the pool 20000-29999. */
  range?: UserPortRange;
  /** Which service keeps a contested port. Default `medium`. */
  priority?: Priority;
  /** What the service speaks; the first entry decides the URL scheme. Default: the inherited service's, else `['http']`. */
  requires?: Requirement[];
  /** Services that compete with this one for ports (made symmetric). */
  conflicts?: string[];
  /** Share the port of this service; an inheriting service declares no ports of its own. */
  inheritFrom?: string;
  /** Environment variable that carries the port. Default: `SERVER_PORT` for `server`. */
  portEnv?: string;
  /** Extra environment variables for `command` (`berth up`); berth sets PORT and the stack's `<NAME>_PORT`/`<NAME>_URL` itself. */
  env?: Record<string, string>;
  /** Allow ports below 1024. Default: the top-level `allowPrivileged`. */
  allowPrivileged?: boolean;
  /** Health check; `false` disables it, `true` or omitted derives it from `requires`. */
  health?: boolean | UserHealthConfig;
  /** What `berth up` runs: a string for the shell (like a Procfile line), or a list run without a shell. */
  command?: string | string[];
  /** Folder of the command, relative to the config file. Default: the config file's folder. */
  cwd?: string;
  /** Services that must be ready before this one starts (`inheritFrom`'s target is one implicitly). */
  dependsOn?: string[];
  /** How `berth up` tells the service is ready: a health check once its process binds the port, a command, or a line of output. Default: `health`. */
  ready?: UserReadyConfig;
  /** What berth adds to the command for the port: `false` nothing, a list those words (`{port}` replaced). Default: the known tool's flag. */
  portArgs?: boolean | string[];
  /** Restart the command when it exits: `no` (default), `on-failure` or `always`, with back-off from 1 s to 30 s. */
  restart?: RestartPolicy;
  /** Restarts (not starts) allowed before `berth up` gives up. Default: no limit. */
  maxRestarts?: number;
  /** Signal sent to the command's process group to stop it. Default `SIGTERM`. */
  stopSignal?: StopSignal;
  /** Milliseconds between `stopSignal` and SIGKILL (0-600000). Default 10000. */
  stopTimeout?: number;
  /** Free text for people; berth ignores it. */
  description?: string;
}

/** Settings an environment may override. */
export interface UserOverridableSettings {
  /** What to do when a wanted port is held by another lease of this project. Default `minimal`. */
  strategy?: ConflictStrategy;
  /** Milliseconds a health check or probe may take (1-600000). Default 5000. */
  healthCheckTimeout?: number;
  /** Retries when another process races for the same port (0-100). Default 5. */
  maxRetries?: number;
  /** Run health checks at all. Default `true`. */
  enableHealthChecks?: boolean;
  /** Move a service to a free port when its port is taken, instead of failing. Default `true`. */
  autoReassign?: boolean;
  /** Allow ports below 1024 for every service. Default `false`. */
  allowPrivileged?: boolean;
  /** Ports and ranges never handed out (at most 10000 ports per range). */
  exclude?: (number | UserPortRange)[];
}

/** One environment's overrides: a key given here replaces the same key of the base config. */
export interface UserEnvironmentConfig extends UserOverridableSettings {
  /** Per-service overrides; each names a service of the base config. */
  services?: Record<string, UserServiceConfig>;
}

/** A whole config file as written (`berth.config.json`, `.yaml`, `.ts`). */
export interface UserConfig extends UserOverridableSettings {
  /** Path or URL of the JSON Schema, for editors. Ignored by berth. */
  $schema?: string;
  /** Project name. Default: the name of the folder holding the config. */
  project?: string;
  /**
   * Where the leases live: `etcd://host1:2379,host2:2379[/prefix]` (a team's registry) or
   * `sqlite` (the default). `BERTH_REGISTRY` wins. Never credentials: BERTH_ETCD_* carry those.
   */
  registry?: string;
  /**
   * What `<NAME>_URL` carries: `ports` (`http://localhost:3000`, the default) or `named`
   * (`http://web.shop.localhost:4939` through `berth serve`'s proxy, when it runs and the name resolves).
   */
  urls?: 'ports' | 'named';
  /** The services by name, in declaration order. At least one. */
  services: Record<string, UserServiceConfig>;
  /** Overrides by environment name (`--env`, `BERTH_ENV`). */
  environments?: Record<string, UserEnvironmentConfig>;
}

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
