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
import { stopGroup } from '../stack/stop.js';
import { releaseRunIn } from './release.js';

/** The variable that carries the {@link WatchdogPayload} to the watchdog, as JSON. */
export const WATCHDOG_VARIABLE = 'BERTH_WATCHDOG';

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
  options: { adapters?: Adapters; pollMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<void> {
  const adapters =
    options.adapters ?? createAdapters({ home: payload.home, registry: payload.registry ?? null });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = options.pollMs ?? WATCHDOG_POLL_MS;
  const servers = payload.servers ?? [];
  const groups = new Map<number, ProcessGroupRef>();
  try {
    let lookedAt = Number.NEGATIVE_INFINITY;
    while (adapters.processes.isAlive(payload.runner)) {
      if (servers.length > 0 && adapters.now() - lookedAt >= SERVER_LOOKUP_MS) {
        lookedAt = adapters.now();
        await learnServerGroups(adapters, payload.runner.pid, servers, groups);
      }
      await sleep(pollMs);
    }
    await Promise.all(
      servers.map(async (server) => {
        const group = groups.get(server.port);
        if (!group || !adapters.groups.alive(group)) return;
        await stopGroup(adapters.groups, group, null, {
          signal: server.stopSignal,
          timeoutMs: server.stopTimeoutMs,
          hurry: new Promise<void>(() => {}),
          sleep,
          now: adapters.now,
        }).catch(() => {});
      }),
    );
    const { config } = payload;
    // Through an outage of a registry kept elsewhere (etcd): its work waits for it to come back.
    await untilRegistry(adapters, sleep, () => adapters.registry.ready?.());
    if (config !== null) await downStack(createManagerFor(config, adapters), { emit: () => {} });
    const scope =
      config === null ? (payload.scope ?? null) : { dir: config.dir, environment: config.environment };
    await untilRegistry(adapters, sleep, () =>
      adapters.registry.transaction((tx) =>
        releaseRunIn(tx, { runId: payload.runId, scope }, adapters.now()),
      ),
    );
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
