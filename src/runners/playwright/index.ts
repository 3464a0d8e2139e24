/**
 * `berth-ports/playwright`: Playwright's `webServer`s on ports no other process gets.
 * `berthWebServers()` leases the config's services for the run (the config's
 * `test` environment, a scope of the run's own) and returns a `webServer` entry
 * for each service with a `command` (its port or URL, berth's variables, its
 * stop signal), and the `baseURL` of the service the browser opens.
 * `reuseExistingServer` is true only when this checkout already runs the stack
 * on its own leases (`berth up --env test`): never another checkout's server,
 * which `reuseExistingServer: true` on a fixed port happily reuses.
 *
 * Playwright loads its config in the main process and again in every worker:
 * the main process leases (the leases are its own, released when it exits) and
 * passes the result to the workers in `BERTH_PLAYWRIGHT`, so every process sees
 * the same ports.
 *
 * @example
 * // playwright.config.ts
 * import { defineConfig } from '@playwright/test';
 * import { berthWebServers } from 'berth-ports/playwright';
 * const berth = berthWebServers({ cwd: import.meta.dirname, baseURL: 'client' });
 * export default defineConfig({ webServer: berth.webServer, use: { baseURL: berth.baseURL } });
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { berthHome, machineProcessTree } from '../../compose/context.js';
import { checkOptions, WEB_SERVER_OPTIONS } from '../../compose/test-run/options.js';
import { readPlan, writePlan } from '../../compose/test-run/plan-variable.js';
import {
  guardWebServers,
  leaseWebServersSync,
  type PlannedServer,
  releasePlanSync,
  type WebServerPlan,
} from '../../compose/test-run/web-servers.js';
import { leaseWorkerPort, leaseWorkerPorts, type WorkerRef } from '../../compose/test-run/worker.js';
import type { RunValues } from '../../core/test-run.js';
import { atEntrySync } from '../boundary.js';

export type { RunValues } from '../../core/test-run.js';

/** Options of {@link berthWebServers}. */
export interface BerthWebServersOptions {
  /** Folder the berth config is looked for from, upward: pass the Playwright config's folder (`import.meta.dirname`, `__dirname`). Default `process.cwd()`. */
  cwd?: string;
  /** Config file, relative to `cwd`; default: found from `cwd` upward. None found: no web servers. */
  configFile?: string;
  /** The config's environment whose overrides apply; default `test`. */
  environment?: string;
  /** Services to start (what they depend on comes along); default every service with a `command`. */
  services?: readonly string[];
  /** Extra variables for every server (berth's own, PORT and `<NAME>_PORT` / `<NAME>_URL`, win). */
  env?: Record<string, string>;
  /** Milliseconds Playwright waits for each server; default 60000. */
  timeout?: number;
  /**
   * The service whose URL is `baseURL`: a service of the config with an http(s) URL. Default the
   * first server with one (the last started is often the front end: name it).
   */
  baseURL?: string;
  /**
   * Environments of this checkout whose running stack (`berth up --env NAME`) is
   * reused instead of started; `false` never reuses. Default: `[environment]`.
   */
  reuse?: readonly string[] | false;
  /** Registry folder; default `$BERTH_HOME`, `$XDG_STATE_HOME/berth` or `~/.local/state/berth`. */
  home?: string;
}

/** One Playwright `webServer` entry (`TestConfigWebServer`), as berth fills it in. */
export interface BerthWebServer {
  name: string;
  command: string;
  cwd: string;
  /** Set for HTTP services: Playwright polls it (the `ready` path) until it answers. */
  url?: string;
  /** Set for TCP services: Playwright waits for the port to accept connections. */
  port?: number;
  env: Record<string, string>;
  timeout: number;
  /** True only when this checkout's own stack already runs on these ports. */
  reuseExistingServer: boolean;
  stdout: 'pipe';
  stderr: 'pipe';
  /** The service's `stopSignal` (SIGINT or SIGTERM; others become SIGTERM) and `stopTimeout`. */
  gracefulShutdown: { signal: 'SIGINT' | 'SIGTERM'; timeout: number };
}

/** What {@link berthWebServers} returns. */
export interface BerthPlaywright extends RunValues {
  /** Playwright's `webServer`, in dependency order (Playwright starts them in turn). */
  webServer: BerthWebServer[];
  /** The URL of the `baseURL` service; `undefined` without an HTTP server. */
  baseURL: string | undefined;
  runId: string;
  /** The environment whose running stack is reused, or `null` when the run starts its own. */
  reused: string | null;
}

/**
 * Leases the services and returns Playwright's `webServer` entries, the
 * `baseURL`, and every service's port and URL. Synchronous: it fits a
 * CommonJS config. Also sets `BERTH_RUN_ID`, `BERTH_PORTS`, `BERTH_URLS`,
 * `<NAME>_PORT` and `<NAME>_URL` for the workers.
 *
 * @example
 * // playwright.config.ts
 * const berth = berthWebServers({ cwd: import.meta.dirname, services: ['server', 'client'], baseURL: 'client' });
 * export default defineConfig({ webServer: berth.webServer, use: { baseURL: berth.baseURL } });
 */
export function berthWebServers(options: BerthWebServersOptions = {}): BerthPlaywright {
  return atEntrySync(() => {
    checkOptions('berthWebServers', options, WEB_SERVER_OPTIONS);
    // The plan lives in the environment only: this process's own (a second call) or its main process's.
    const plan = readPlan(process.env, machineProcessTree()) ?? leaseForThisProcess(options);
    return toConfig(plan, options);
  });
}

function leaseForThisProcess(options: BerthWebServersOptions): WebServerPlan {
  const environment = options.environment ?? 'test';
  const plan = leaseWebServersSync({
    cwd: resolve(options.cwd ?? process.cwd()),
    ...(options.configFile ? { configFile: options.configFile } : {}),
    environment,
    services: options.services ?? null,
    ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
    reuse: options.reuse === false ? [] : (options.reuse ?? [environment]),
    runner: { pid: process.pid, startTime: null },
    runId: randomBytes(4).toString('hex'),
    home: resolve(options.home ?? berthHome()),
  });
  for (const note of plan.notes) process.stderr.write(`berth: ${note}\n`);
  if (plan.reused !== null) {
    process.stderr.write(
      `berth: reusing the servers this checkout runs in environment ${plan.reused} (${Object.entries(
        plan.values.urls,
      )
        .map(([name, url]) => `${name} ${url}`)
        .join(', ')})\n`,
    );
  }
  writePlan(process.env, plan);
  Object.assign(process.env, plan.env);
  // Playwright has stopped the servers by then; their leases, and the workers', go with this process.
  process.once('exit', () => releasePlanSync(plan));
  // Killed outright, Playwright leaves its servers running: the watchdog stops them.
  guardWebServers(plan);
  return plan;
}

function toConfig(plan: WebServerPlan, options: BerthWebServersOptions): BerthPlaywright {
  const webServer = plan.servers.map((s) => toWebServer(s, plan, options));
  const base =
    options.baseURL ?? plan.servers.find((s) => /^https?:/.test(plan.values.urls[s.name] ?? ''))?.name;
  return {
    webServer,
    baseURL: base === undefined ? undefined : plan.values.urls[base],
    ports: plan.values.ports,
    urls: plan.values.urls,
    runId: plan.runId,
    reused: plan.reused,
  };
}

function toWebServer(
  server: PlannedServer,
  plan: WebServerPlan,
  options: BerthWebServersOptions,
): BerthWebServer {
  return {
    name: server.name,
    command: server.command,
    cwd: server.cwd,
    ...(server.url === null ? { port: server.port } : { url: server.url }),
    env: { ...options.env, ...server.env },
    timeout: options.timeout ?? 60_000,
    reuseExistingServer: plan.reused !== null,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: {
      signal: server.stopSignal === 'SIGINT' ? 'SIGINT' : 'SIGTERM',
      timeout: server.stopTimeoutMs,
    },
  };
}

const worker = (): WorkerRef => ({ runner: 'playwright', worker: process.env.TEST_WORKER_INDEX ?? null });

/**
 * A port leased for this Playwright worker under `name` (default `port`): the
 * same port for the same name while the worker lives, never one another process holds.
 *
 * @example
 * import { workerPort } from 'berth-ports/playwright';
 * const port = await workerPort('mock-api');
 */
export function workerPort(name?: string): Promise<number> {
  return leaseWorkerPort(worker(), name);
}

/**
 * `count` ports leased for this Playwright worker, the same ones on every call. `count` is a whole number from 0 to 256;
 * a call that fails leaves none of its ports leased (E_USAGE, E_NO_PORT).
 *
 * @example
 * const [a, b] = await workerPorts(2);
 */
export function workerPorts(count: number): Promise<number[]> {
  return leaseWorkerPorts(worker(), count);
}
