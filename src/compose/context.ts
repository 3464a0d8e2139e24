/**
 * The adapters a port manager runs on. Defaults are the real ones (SQLite,
 * /proc, sockets); tests and embedders pass their own.
 */
import { createKernelFacts } from '../adapters/net/kernel.js';
import { createProbe } from '../adapters/net/probe.js';
import { createProcessTable } from '../adapters/process/table.js';
import { berthHome } from '../adapters/registry/home.js';
import { openRegistry } from '../adapters/registry/sqlite.js';
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
}

/** Real adapters, with any overrides applied. */
export function createAdapters(options: AdapterOptions = {}): Adapters {
  const given = options.adapters ?? {};
  const now = given.now ?? Date.now;
  const processes = given.processes ?? createProcessTable();
  const reclaimer = new Reclaimer(processes, now);
  const registry =
    given.registry ??
    openRegistry({
      home: options.home ?? berthHome(),
      now,
      processes,
      // Every batch plans from live leases only: dead owners' and expired leases go first.
      beforeBatch: (tx) => void reclaimer.reclaim(tx),
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
