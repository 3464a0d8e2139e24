/**
 * A test run's watchdog: a small detached process that outlives the runner.
 * Runners die in ways no exit hook sees (SIGKILL, an OOM kill, a CI job
 * cancelled), and the services berth started for the run sit in process
 * groups of their own, so nothing else would stop them. The watchdog polls
 * the runner; when it is gone, it does what `berth down` does for a killed
 * `berth up` (src/compose/stack/down.ts: each group stopped in reverse
 * dependency order, SIGKILL after its stopTimeout), then releases the run's
 * leases. A teardown that finished stops the watchdog.
 *
 * Playwright starts its `webServer`s itself, in process groups of their own
 * that a killed Playwright leaves running. For those the watchdog learns, while
 * the runner lives, which process group listens on each of the run's ports
 * (the group whose leader is the runner's child), and stops those groups the
 * same way once the runner is gone.
 *
 * What it did goes, a line each, to the file `$BERTH_WATCHDOG_LOG` names, when set.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ProcessGroupRef } from '../../core/facts.js';
import type { Scope } from '../../core/registry.js';
import type { LeaseOwner, ResolvedConfig, StopSignal } from '../../core/types.js';
import { type Adapters, createAdapters, startDetached } from '../context.js';
import { createManagerFor } from '../manager.js';
import { downStack } from '../stack/down.js';
import { type GroupStop, stopGroup } from '../stack/stop.js';
import { releaseRunIn } from './release.js';

/** The variable that carries the {@link WatchdogPayload} to the watchdog, as JSON. */
export const WATCHDOG_VARIABLE = 'BERTH_WATCHDOG';

/**
 * The variable naming a file the watchdog appends its lines to: whom it guards, each
 * look at who serves the run's ports, what it stopped and released. Unset: it writes
 * nothing (it has no terminal: it outlives the runner, detached).
 */
export const WATCHDOG_LOG_VARIABLE = 'BERTH_WATCHDOG_LOG';

/** How often the watchdog looks whether the runner lives, in milliseconds. */
export const WATCHDOG_POLL_MS = 250;

/** How often it looks who listens on the ports of servers the runner starts itself, in milliseconds (a /proc walk). */
export const SERVER_LOOKUP_MS = 1_000;

/** A server the runner starts itself (Playwright's webServer), on a port of the run. */
export interface GuardedServer {
  port: number;
  stopSignal: StopSignal;
  stopTimeoutMs: number;
}

/** What the watchdog guards. */
export interface WatchdogPayload {
  /** The registry folder. */
  home: string;
  /** The runner's process (vitest's or Jest's main process). */
  runner: LeaseOwner;
  runId: string;
  /** The run's config (its environment is the run's scope) when `berth up`'s machinery runs its services, else `null`. */
  config: ResolvedConfig | null;
  /** The scope the run leased in, when `config` is `null` (Playwright). */
  scope?: Scope | null;
  /** Servers the runner starts itself, to stop when it dies. */
  servers?: readonly GuardedServer[];
  /** The config's `registry` (etcd), when it names one; `$BERTH_REGISTRY` (inherited) wins over it. */
  registry?: string | null;
}

/**
 * The built watchdog script of this package (`dist/runners/watchdog.js`, found
 * through the package's own name, so from ESM, CommonJS and the sources alike),
 * or `null` when it is not built.
 */
export function watchdogScript(): string | null {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('berth-ports/package.json'));
    const script = join(root, 'dist/runners/watchdog.js');
    return existsSync(script) ? script : null;
  } catch {
    return null;
  }
}

/**
 * Starts the watchdog of a run; its group, or `null` when it could not start
 * (the run goes on: only a killed runner's services would outlive it).
 *
 * @example
 * const watchdog = startWatchdog({ home, runner: adapters.processes.self(), runId, config });
 */
export function startWatchdog(payload: WatchdogPayload, script = watchdogScript()): ProcessGroupRef | null {
  if (script === null) return null;
  return startDetached(script, { [WATCHDOG_VARIABLE]: JSON.stringify(payload) });
}

/**
 * The watchdog's work: waits until the runner is gone, then stops what the
 * run's `berth up` machinery left and releases the run's leases.
 *
 * @example
 * await guardRun(JSON.parse(process.env.BERTH_WATCHDOG!));
 */
export async function guardRun(
  payload: WatchdogPayload,
  options: {
    adapters?: Adapters;
    pollMs?: number;
    sleep?: (ms: number) => Promise<void>;
    /** Where its lines go when `adapters` is not given (`$BERTH_WATCHDOG_LOG`); default silent. */
    log?: (line: string) => void;
  } = {},
): Promise<void> {
  const adapters =
    options.adapters ??
    createAdapters({
      home: payload.home,
      registry: payload.registry ?? null,
      ...(options.log ? { adapters: { log: options.log } } : {}),
    });
  const { log } = adapters;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = options.pollMs ?? WATCHDOG_POLL_MS;
  const servers = payload.servers ?? [];
  const groups = new Map<number, ProcessGroupRef>();
  try {
    log(
      `guarding run ${payload.runId} of runner pid ${payload.runner.pid}${
        servers.length > 0 ? `, servers on ports ${servers.map((s) => s.port).join(', ')}` : ''
      }`,
    );
    let lookedAt = Number.NEGATIVE_INFINITY;
    while (adapters.processes.isAlive(payload.runner)) {
      const unknown = servers.some((s) => !groups.has(s.port));
      if (unknown && adapters.now() - lookedAt >= SERVER_LOOKUP_MS) {
        lookedAt = adapters.now();
        await learnServerGroups(adapters, payload.runner.pid, servers, groups);
        log(`looked who serves: ${serverGroups(servers, groups)}`);
      }
      await sleep(pollMs);
    }
    log(`runner pid ${payload.runner.pid} is gone`);
    await Promise.all(
      servers.map(async (server) => {
        const group = groups.get(server.port);
        if (!group) return log(`port ${server.port}: no group known to stop`);
        const stop = adapters.groups.alive(group)
          ? await stopGroup(adapters.groups, group, null, {
              signal: server.stopSignal,
              timeoutMs: server.stopTimeoutMs,
              hurry: new Promise<void>(() => {}),
              sleep,
              now: adapters.now,
            }).catch(() => null)
          : ({ how: 'gone' } as const);
        log(`port ${server.port}: group ${group.pid} ${stopWords(stop, server.stopSignal)}`);
      }),
    );
    const { config } = payload;
    // Through an outage of a registry kept elsewhere (etcd): its work waits for it to come back.
    await untilRegistry(adapters, sleep, () => adapters.registry.ready?.());
    if (config !== null) {
      await downStack(createManagerFor(config, adapters), { emit: () => {} });
      log(`stopped the services of ${config.environment} and released their leases (berth down)`);
    }
    const scope =
      config === null ? (payload.scope ?? null) : { dir: config.dir, environment: config.environment };
    const released = await untilRegistry(adapters, sleep, () =>
      adapters.registry.transaction((tx) =>
        releaseRunIn(tx, { runId: payload.runId, scope }, adapters.now()),
      ),
    );
    const count = released?.length ?? 0;
    log(`released ${count} ${count === 1 ? 'lease' : 'leases'} left of run ${payload.runId}`);
  } finally {
    adapters.runs.close();
    adapters.registry.close();
  }
}

/** How long the watchdog keeps trying a registry that does not answer (an etcd outage), in milliseconds. */
export const WATCHDOG_REGISTRY_PATIENCE_MS = 10 * 60_000;

/**
 * Runs `work` until it does not fail with `E_REGISTRY` (the registry unreachable), for
 * at most {@link WATCHDOG_REGISTRY_PATIENCE_MS}: nobody waits for the watchdog, and what
 * it releases late is better than what it never releases.
 */
async function untilRegistry<T>(
  adapters: Adapters,
  sleep: (ms: number) => Promise<void>,
  work: () => Promise<T> | undefined,
): Promise<T | undefined> {
  const giveUpAt = adapters.now() + WATCHDOG_REGISTRY_PATIENCE_MS;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code !== 'E_REGISTRY' || adapters.now() > giveUpAt) throw error;
      await sleep(wait);
    }
  }
}

/**
 * For each server port without a known group: the process listening on it, if
 * it descends from the runner, gives the group, led by the runner's child on
 * that line (Playwright starts each webServer as the leader of a group of its own).
 */
async function learnServerGroups(
  adapters: Adapters,
  runner: number,
  servers: readonly GuardedServer[],
  groups: Map<number, ProcessGroupRef>,
): Promise<void> {
  const missing = servers.filter((s) => !groups.has(s.port));
  if (missing.length === 0) return;
  const listeners = await adapters.freshListeners.read();
  for (const server of missing) {
    const { holders } = await adapters.holders.find(server.port, listeners);
    for (const holder of holders) {
      const leader = childOfRunner(adapters, holder.pid, runner);
      const owner = leader === null ? null : adapters.processes.owner(leader);
      if (owner === null) continue;
      groups.set(server.port, {
        pid: owner.pid,
        pgid: process.platform === 'win32' ? null : owner.pid,
        startTime: owner.startTime,
      });
      break;
    }
  }
}

/** How a server's group went, for the log. */
function stopWords(stop: GroupStop | null, signal: StopSignal): string {
  if (stop === null) return 'could not be stopped';
  if (stop.how === 'gone') return 'gone already';
  if (stop.how === 'killed') return `killed (SIGKILL after ${stop.afterMs} ms)`;
  return `stopped (${signal})`;
}

/** Each server's port and the group the watchdog knows serves it: `14300 group 4242, 14301 none yet`. */
function serverGroups(
  servers: readonly GuardedServer[],
  groups: ReadonlyMap<number, ProcessGroupRef>,
): string {
  return servers
    .map((s) => {
      const group = groups.get(s.port);
      return group ? `${s.port} group ${group.pid}` : `${s.port} none yet`;
    })
    .join(', ');
}

/** The ancestor of `pid` (itself included) whose parent is `runner`, or `null` when `pid` does not descend from it. */
function childOfRunner(adapters: Adapters, pid: number, runner: number): number | null {
  let current = pid;
  for (let depth = 0; depth < 32; depth++) {
    const parent = adapters.tree.parentOf(current);
    if (parent === null || parent <= 1) return null;
    if (parent === runner) return current;
    current = parent;
  }
  return null;
}
