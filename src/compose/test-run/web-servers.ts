/**
 * Playwright's `webServer`s from a berth config. Playwright reads its config
 * synchronously (and again in every worker), so the ports are leased in a child
 * process that this one waits for (`leaseWebServersSync`, running
 * `dist/runners/playwright/lease.js`, which calls {@link planWebServers}); the
 * leases belong to the calling process (Playwright's main process) and go when
 * it exits. Playwright starts and stops the commands itself; berth gives each
 * its port, its variables, and a `reuseExistingServer` that is true only for a
 * server this checkout already runs on its own lease (`berth up --env test`).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { findConfigFile, loadConfig } from '../../config/load.js';
import { serviceUrl, shellQuote } from '../../core/endpoints.js';
import type { Scope } from '../../core/registry.js';
import { chooseRegistry } from '../../core/registry-url.js';
import { stackGraph } from '../../core/stack.js';
import {
  RUN_ID_VARIABLE,
  type RunValues,
  runEnvironment,
  runValues,
  runVariables,
} from '../../core/test-run.js';
import type { LeaseOwner, ResolvedConfig, RunCommand, StopSignal } from '../../core/types.js';
import { BerthError, type BerthErrorCode, isBerthError, unexpectedMessage } from '../../errors.js';
import { type Adapters, createAdapters, machineProcesses, openAdapters } from '../context.js';
import { leaseViews, staleness } from '../lease-views.js';
import { createManagerFor } from '../manager.js';
import { serviceCommand } from '../port-args.js';
import { serviceEnv } from '../stack/env.js';
import { checkBaseUrlOption, checkServiceOption } from './options.js';
import { releaseRunIn } from './release.js';
import { startWatchdog } from './watchdog.js';

/** What the lease child is asked. */
export interface WebServerRequest {
  /** Folder the config is looked for from (the Playwright config's folder). */
  cwd: string;
  configFile?: string;
  /** The config's environment whose overrides apply. */
  environment: string;
  /** Services to start (what they depend on comes along); `null`: every service with a command. */
  services: readonly string[] | null;
  /** The service whose URL is Playwright's `baseURL`, when the caller names one: checked against the config. */
  baseURL?: string;
  /** Environments of this checkout whose running stack may be reused. */
  reuse: readonly string[];
  /** Playwright's main process: owner of the run's leases. */
  runner: LeaseOwner;
  runId: string;
  home: string;
}

/** One server Playwright is to start (or reuse). */
export interface PlannedServer {
  /** The service that runs the command. */
  name: string;
  /** A line for Playwright's shell. */
  command: string;
  cwd: string;
  port: number;
  /** The URL Playwright polls until the server answers (the `ready` path); `null` for a TCP service (port only). */
  url: string | null;
  /** berth's variables for the command: PORT, every `<NAME>_PORT` / `<NAME>_URL`, the service's `env`. */
  env: Record<string, string>;
  stopSignal: StopSignal;
  stopTimeoutMs: number;
}

/** What {@link planWebServers} decided. */
export interface WebServerPlan {
  runId: string;
  home: string;
  /** The config's `registry` (etcd) when it names one, else `null`; `$BERTH_REGISTRY` wins over it. */
  registry: string | null;
  /** The scope the run leased in; `null` when it leased nothing (no config, or a reused stack). */
  scope: Scope | null;
  /** The environment whose running stack is reused, or `null`. */
  reused: string | null;
  servers: PlannedServer[];
  values: RunValues;
  /** For the workers and the tests: `BERTH_RUN_ID`, `BERTH_PORTS`, `BERTH_URLS`, `<NAME>_PORT`, `<NAME>_URL`. */
  env: Record<string, string>;
  /** Decision lines of services that did not get their first choice. */
  notes: string[];
}

/**
 * Leases the services (or finds this checkout's running stack to reuse) and
 * plans a server per service with a command. Runs in the lease child.
 *
 * @example
 * const plan = await planWebServers({ cwd, environment: 'test', services: null, reuse: ['test'], runner, runId, home });
 */
export async function planWebServers(request: WebServerRequest): Promise<WebServerPlan> {
  const cwd = resolve(request.cwd);
  const file = request.configFile ?? findConfigFile(cwd);
  const empty: WebServerPlan = {
    runId: request.runId,
    home: request.home,
    registry: null,
    scope: null,
    reused: null,
    servers: [],
    values: { ports: {}, urls: {} },
    env: { [RUN_ID_VARIABLE]: request.runId },
    notes: [],
  };
  if (file === null) {
    checkServiceOption(null, 'services', request.services ?? [], cwd);
    if (request.baseURL !== undefined) checkBaseUrlOption(null, request.baseURL, cwd);
    return empty;
  }
  const { config } = await loadConfig({
    cwd,
    environment: request.environment,
    file,
    fileOption: 'configFile',
  });
  // Before stackGraph, which takes its names as known.
  checkServiceOption(config, 'services', request.services ?? [], cwd);
  if (request.baseURL !== undefined) checkBaseUrlOption(config, request.baseURL, cwd);
  const anyCommand = config.services.some((s) => s.run.command !== null);
  const started =
    request.services === null && !anyCommand
      ? []
      : stackGraph(config.services, request.services).units.filter((u) => u.kind === 'process');
  // The config's registry (etcd) as the CLI would use it, loaded before the reads below.
  const adapters = await openAdapters({ home: request.home, registry: config.registry ?? null });
  try {
    await adapters.kernel.refresh();
    for (const environment of request.reuse) {
      const ports = runningStack(
        config,
        environment,
        adapters,
        started.map((u) => u.name),
      );
      if (ports !== null) {
        const { portNotes: _, ...planned } = plan(config, started, ports, request);
        return { ...planned, scope: null, reused: environment, notes: [] };
      }
    }
    const run = { ...config, environment: runEnvironment(request.environment, request.runId) };
    const pm = createManagerFor(run, adapters);
    // The runner's start time is read here, so a reused pid is never taken for it.
    const runner = adapters.processes.owner(request.runner.pid) ?? request.runner;
    const assigned = await pm.assignAll({ owner: runner });
    const ports = new Map(Object.entries(assigned.services).map(([name, s]) => [name, s.port]));
    const { portNotes, ...planned } = plan(config, started, ports, request);
    return {
      ...planned,
      scope: { dir: run.dir, environment: run.environment },
      reused: null,
      notes: [...assigned.decisions.filter((d) => d.skipped.length > 0).map((d) => d.message), ...portNotes],
    };
  } finally {
    adapters.runs.close();
    adapters.registry.close();
  }
}

function plan(
  config: ResolvedConfig,
  started: readonly { name: string }[],
  ports: ReadonlyMap<string, number>,
  request: WebServerRequest,
): Omit<WebServerPlan, 'scope' | 'reused' | 'notes'> & { portNotes: string[] } {
  const portNotes: string[] = [];
  const servers = started.map(({ name }) => {
    const spec = config.services.find((s) => s.name === name)!;
    const port = ports.get(name)!;
    // Playwright runs the line: the tool's port arguments go in it, as berth up adds them.
    const command = serviceCommand(spec, spec.run.command!, port, spec.run.cwd);
    if (command.message !== null) portNotes.push(`${name}: ${command.message}`);
    const ready = spec.run.ready;
    const url =
      ready?.type === 'http' || (ready === null && spec.requires[0] !== 'tcp')
        ? `${serviceUrl(spec, port).replace(/^ws/, 'http')}${ready?.path ?? '/'}`
        : null;
    return {
      name,
      command: commandLine(command.command),
      cwd: spec.run.cwd,
      port,
      url,
      env: serviceEnv({}, config, ports, name),
      stopSignal: spec.run.stopSignal,
      stopTimeoutMs: spec.run.stopTimeoutMs,
    };
  });
  return {
    runId: request.runId,
    home: request.home,
    registry: config.registry ?? null,
    servers,
    portNotes,
    values: runValues(config.services, ports),
    env: runVariables(config.services, ports, request.runId),
  };
}

/**
 * The ports of this checkout's stack in `environment` when every service to
 * start runs there on its own live lease (something listens on it), else `null`.
 * Another checkout's leases are in another scope: never reused.
 */
function runningStack(
  config: ResolvedConfig,
  environment: string,
  adapters: Adapters,
  names: readonly string[],
): Map<string, number> | null {
  const scope = { dir: config.dir, environment };
  const leases = leaseViews(adapters, adapters.registry.scopeLeases(scope));
  const live = leases.filter(
    (l) => l.owner !== null && staleness(l, adapters.now(), adapters.processes) === null,
  );
  const ports = new Map(live.map((l) => [l.service, l.port]));
  const running = names.every((n) => live.some((l) => l.service === n && l.state === 'bound'));
  return running && names.length > 0 ? ports : null;
}

/** A command as one line for Playwright's shell. */
function commandLine(command: RunCommand): string {
  return command.kind === 'shell' ? command.line : command.argv.map(shellQuote).join(' ');
}

/** This package's built file `dist/<path>`, found through the package's own name. */
export function builtScript(path: string): string {
  return join(dirname(createRequire(import.meta.url).resolve('berth-ports/package.json')), 'dist', path);
}

/**
 * {@link planWebServers} in a child process, waited for: Playwright's config is
 * synchronous. Throws the child's BerthError (same code and message).
 *
 * @example
 * const plan = leaseWebServersSync({ cwd: __dirname, environment: 'test', ... });
 */
export function leaseWebServersSync(request: WebServerRequest): WebServerPlan {
  let out: string;
  try {
    out = execFileSync(process.execPath, [builtScript('runners/playwright/lease.js')], {
      input: JSON.stringify(request),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'inherit'],
    });
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? '';
    const failure = parseFailure(stdout);
    if (failure) throw new BerthError(failure.code, failure.message, { data: failure.data });
    throw error;
  }
  return JSON.parse(out) as WebServerPlan;
}

function parseFailure(
  text: string,
): { code: BerthErrorCode; message: string; data: Record<string, unknown> } | null {
  try {
    const parsed = JSON.parse(text) as {
      error?: { code: BerthErrorCode; message: string; data: Record<string, unknown> };
    };
    return parsed.error ?? null;
  } catch {
    return null;
  }
}

/**
 * The lease child's whole work: the request on stdin, the plan (or the error) as JSON on stdout.
 *
 * @example
 * await answerLeaseRequest(); // in dist/runners/playwright/lease.js
 */
export async function answerLeaseRequest(): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  try {
    process.stdout.write(JSON.stringify(await planWebServers(JSON.parse(input) as WebServerRequest)));
  } catch (error) {
    const body = isBerthError(error)
      ? { code: error.code, message: error.message, data: error.data }
      : { code: 'E_USAGE', message: unexpectedMessage(error), data: {} };
    process.stdout.write(JSON.stringify({ error: body }));
    process.exitCode = 1;
  }
}

/**
 * Releases a plan's leases synchronously (Playwright's main process, on exit):
 * the run's scope and its workers' leases; waits at most `timeoutMs` for the registry.
 *
 * @example
 * process.once('exit', () => releasePlanSync(plan));
 */
export function releasePlanSync(
  plan: Pick<WebServerPlan, 'home' | 'runId' | 'scope' | 'registry'>,
  timeoutMs = 500,
): void {
  // A registry kept elsewhere (etcd) cannot commit synchronously: the run's watchdog releases
  // the leases once this process is gone (guardWebServers starts one on etcd).
  if (registryKind(plan) === 'etcd') return;
  try {
    const adapters = createAdapters({ home: plan.home, registry: plan.registry });
    try {
      adapters.registry.transactionSync(
        (tx) => releaseRunIn(tx, { runId: plan.runId, scope: plan.scope }, adapters.now()),
        { timeoutMs },
      );
    } finally {
      adapters.registry.close();
    }
  } catch {
    // Exiting anyway: the leases' owner is this process, so the next allocation reclaims them.
  }
}

/** Which registry a plan's leases are in (`$BERTH_REGISTRY` wins over the config's); SQLite when unsure. */
function registryKind(plan: Pick<WebServerPlan, 'registry'>): 'sqlite' | 'etcd' {
  try {
    return chooseRegistry(plan.registry, process.env).kind;
  } catch {
    return 'sqlite';
  }
}

/**
 * Starts the watchdog of a Playwright run that starts servers: if Playwright is
 * killed outright, the watchdog stops the servers it started and releases the
 * run's leases (src/compose/test-run/watchdog.ts). It ends by itself shortly after
 * Playwright exits.
 *
 * @example
 * guardWebServers(plan);
 */
export function guardWebServers(plan: WebServerPlan): void {
  // On etcd the watchdog also does the release an exit handler cannot (releasePlanSync).
  const releases = registryKind(plan) === 'etcd' && (plan.scope !== null || plan.servers.length > 0);
  if ((plan.servers.length === 0 || plan.reused !== null) && !releases) return;
  startWatchdog({
    home: plan.home,
    runner: machineProcesses().self(),
    runId: plan.runId,
    config: null,
    scope: plan.scope,
    registry: plan.registry,
    servers: (plan.reused === null ? plan.servers : []).map((s) => ({
      port: s.port,
      stopSignal: s.stopSignal,
      stopTimeoutMs: s.stopTimeoutMs,
    })),
  });
}
