/**
 * The adapters a port manager runs on: every fact about the machine (sockets,
 * /proc, process holders, signals, health probes, the clock) reaches the
 * composition, the CLI and the daemon through one {@link Adapters} object.
 * Defaults are the real ones; tests and embedders pass their own.
 */
import { createKernelFacts } from '../adapters/net/kernel.js';
import { createProbe } from '../adapters/net/probe.js';
import { createFreshListeners } from '../adapters/net/procnet.js';
import { createProcessGroups } from '../adapters/process/group.js';
import { createUserNames } from '../adapters/process/info.js';
import { createProcessTree } from '../adapters/process/stat.js';
import { createProcessTable } from '../adapters/process/table.js';
import { openCheckoutStore } from '../adapters/registry/checkouts.js';
import { berthHome } from '../adapters/registry/home.js';
import { openChosenRegistry } from '../adapters/registry/open.js';
import { openRunStore } from '../adapters/registry/runs.js';
import { createWorktreeReader } from '../adapters/vcs/checkout.js';
import type { CheckoutStore, WorktreeReader } from '../core/checkouts.js';
import type {
  FreshListeners,
  HealthChecker,
  HolderFinder,
  KernelFacts,
  Probe,
  ProcessGroups,
  ProcessStopper,
  ProcessTable,
  ProcessTree,
  Spawner,
  TreeSockets,
  UserNames,
} from '../core/facts.js';
import type { Registry } from '../core/registry.js';
import type { RunStore } from '../core/runs.js';
import { Reclaimer } from './reclaim.js';

/*
 * The parts of the machine that compose's other modules use outside an `Adapters`
 * object: this file is the only one of compose that imports src/adapters
 * (src/architecture.test.ts checks it), so what they need comes through here.
 */
export { createKernelFacts } from '../adapters/net/kernel.js';
export { startDetached } from '../adapters/process/detach.js';
export { berthListener, ENDING_SIGNALS, reraise } from '../adapters/process/signal-hooks.js';
export { hostName, urlHost } from '../adapters/registry/etcd/host.js';
export { openChosenRegistry } from '../adapters/registry/open.js';
/**
 * The default registry folder: `$BERTH_HOME`, `$XDG_STATE_HOME/berth` or
 * `~/.local/state/berth` (for `berth serve`, which keeps its token and daemon.json there).
 */
export { berthHome };

/** The machine's process table alone (lease owners: alive or not, this process), for entries that need no registry. */
export function machineProcesses(): ProcessTable {
  return createProcessTable();
}

/** The machine's process tree alone (parent pids), for entries that need no registry. */
export function machineProcessTree(): ProcessTree {
  return createProcessTree();
}

/** The edges of berth, passed in so the composition can be tested and embedded. */
export interface Adapters {
  registry: Registry;
  /** Listening sockets (cached), the ephemeral and excluded ranges. */
  kernel: KernelFacts;
  /** One real bind that confirms a port. */
  probe: Probe;
  /** Lease owners: alive or not. */
  processes: ProcessTable;
  /** A fresh, uncached read of the listening sockets. */
  freshListeners: FreshListeners;
  /** Who listens on a port. */
  holders: HolderFinder;
  /** Parent pids, to tell a lease owner's descendants from strangers. */
  tree: ProcessTree;
  /** The ports a process tree listens on (a service on the wrong port). */
  treeSockets: TreeSockets;
  /** Stops a process that holds a port (`berth free`). */
  stopper: ProcessStopper;
  /** Service health checks. */
  health: HealthChecker;
  /** Login names of uids. */
  users: UserNames;
  /** Starts a stack's commands, each in a process group of its own (`berth up`). */
  spawner: Spawner;
  /** Signals whole process groups. */
  groups: ProcessGroups;
  /** What `berth up` runs, readable from other processes (opened on first use). */
  runs: RunStore;
  /** Which folder is which checkout, for names (opened on first use). */
  checkouts: CheckoutStore;
  /** What a folder is (a linked git worktree, a main one, a plain folder). */
  worktrees: WorktreeReader;
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

/**
 * The real health checker, loaded on its first check: it brings node:http, which
 * `berth get` and `berth-ports/get-port` never need and should not load at start-up.
 */
const lazyHealthChecker: HealthChecker = {
  check: async (spec, port, options) => {
    const { createHealthChecker } = await import('../adapters/health/check.js');
    return createHealthChecker().check(spec, port, options);
  },
};

/** The adapters that read or act on the machine: all but the registry and the stores in its file. */
export type MachineAdapters = Omit<Adapters, 'registry' | 'runs' | 'checkouts'>;

// Loaded on first use, like the health checker: `berth get` and getPort() never need them,
// and their modules (lsof/netstat parsers, /proc fd tables, signalling) would lengthen every start.
const lazyHolders: HolderFinder = {
  find: async (port, listeners) =>
    (await import('../adapters/process/holders.js')).createHolderFinder().find(port, listeners),
};
const lazyStopper: ProcessStopper = {
  stop: async (pid, options) =>
    (await import('../adapters/process/signal.js')).createProcessStopper().stop(pid, options),
};
const lazyTreeSockets: TreeSockets = {
  listening: async (root) => (await import('../adapters/process/tree-sockets.js')).treeListeners(root),
};
const lazySpawner: Spawner = {
  spawn: async (request) => (await import('../adapters/process/spawn.js')).spawnInGroup(request),
};

/**
 * Real machine adapters, with any overrides applied; opens no registry (for
 * commands that only look at the machine, such as `berth free`). Each adapter
 * is made on first use: the kernel facts start a read of Windows' excluded
 * ranges when made, which a command that never plans has no use for.
 *
 * @example
 * const { holders, freshListeners } = createMachineAdapters();
 * const found = await holders.find(3000, await freshListeners.read());
 */
export function createMachineAdapters(given: Partial<MachineAdapters> = {}): MachineAdapters {
  const kernel = once(() => given.kernel ?? createKernelFacts());
  const probe = once(() => given.probe ?? createProbe());
  const processes = once(() => given.processes ?? createProcessTable());
  return {
    get kernel() {
      return kernel();
    },
    get probe() {
      return probe();
    },
    get processes() {
      return processes();
    },
    freshListeners: given.freshListeners ?? createFreshListeners(),
    holders: given.holders ?? lazyHolders,
    tree: given.tree ?? createProcessTree(),
    treeSockets: given.treeSockets ?? lazyTreeSockets,
    stopper: given.stopper ?? lazyStopper,
    health: given.health ?? lazyHealthChecker,
    users: given.users ?? createUserNames(),
    spawner: given.spawner ?? lazySpawner,
    groups: given.groups ?? createProcessGroups(),
    worktrees: given.worktrees ?? createWorktreeReader(),
    now: given.now ?? Date.now,
    log: given.log ?? (() => {}),
  };
}

/** `make`, called on the first call only. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/**
 * Real adapters, with any overrides applied: the machine's, and the registry in
 * `home` (opened here unless one is given).
 *
 * @example
 * const adapters = createAdapters({ home: '/tmp/berth-demo' });
 */
export function createAdapters(options: AdapterOptions = {}): Adapters {
  const given = options.adapters ?? {};
  const machine = createMachineAdapters(given);
  const { processes, now } = machine;
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
  const runs = once(() => given.runs ?? openRunStore({ home: options.home ?? berthHome() }));
  const checkouts = once(
    () => given.checkouts ?? openCheckoutStore({ home: options.home ?? berthHome(), now }),
  );
  return {
    registry,
    ...machine,
    get runs() {
      return runs();
    },
    get checkouts() {
      return checkouts();
    },
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
