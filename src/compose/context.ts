/**
 * The adapters a port manager runs on. Defaults are the real ones (SQLite,
 * /proc, sockets); tests and embedders pass their own.
 */
import { createKernelFacts } from '../adapters/net/kernel.js';
import { createProbe } from '../adapters/net/probe.js';
import { createProcessTable } from '../adapters/process/table.js';
import { berthHome } from '../adapters/registry/home.js';
import { openChosenRegistry } from '../adapters/registry/open.js';
import type { KernelFacts, Probe, ProcessTable } from '../core/facts.js';
import type { Registry } from '../core/registry.js';
import { Reclaimer } from './reclaim.js';

/** The edges of berth, passed in so the composition can be tested and embedded. */
export interface Adapters {
  registry: Registry;
  kernel: KernelFacts;
  probe: Probe;
  processes: ProcessTable;
  /** Epoch milliseconds. */
  now: () => number;
  /** Where informational lines go (moves, reclaims); silent by default. */
  log: (line: string) => void;
}

/** Options that pick or replace adapters. */
export interface AdapterOptions {
  /** Folder of the registry; default `$BERTH_HOME`, `$XDG_STATE_HOME/berth` or `~/.local/state/berth`. */
  home?: string;
  /** Replace any adapter (tests, embedding). */
  adapters?: Partial<Adapters>;
  /** Registry URL (`etcd://host1:2379,host2:2379`), e.g. the config's `registry` key; `$BERTH_REGISTRY` wins. Default: SQLite in `home`. */
  registry?: string | null;
}

/** Real adapters, with any overrides applied. */
export function createAdapters(options: AdapterOptions = {}): Adapters {
  const given = options.adapters ?? {};
  const now = given.now ?? Date.now;
  const processes = given.processes ?? createProcessTable();
  const reclaimer = new Reclaimer(processes, now);
  const registry =
    given.registry ??
    openChosenRegistry({
      configured: options.registry,
      home: options.home ?? berthHome(),
      now,
      processes,
      // Every batch plans from live leases only: dead owners' and expired leases go first.
      beforeBatch: (tx) => void reclaimer.reclaim(tx),
      ...(given.log ? { log: given.log } : {}),
    });
  return {
    registry,
    kernel: given.kernel ?? createKernelFacts(),
    probe: given.probe ?? createProbe(),
    processes,
    now,
    log: given.log ?? (() => {}),
  };
}

/**
 * {@link createAdapters}, then waits until the registry answers synchronous reads: an
 * etcd registry loads its mirror first (SQLite is ready at once). Closes the registry
 * and rethrows when it cannot be opened.
 *
 * @example
 * const adapters = await openAdapters({ registry: config.registry });
 */
export async function openAdapters(options: AdapterOptions = {}): Promise<Adapters> {
  const adapters = createAdapters(options);
  try {
    await adapters.registry.ready?.();
  } catch (error) {
    adapters.registry.close();
    throw error;
  }
  return adapters;
}
