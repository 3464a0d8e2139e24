/**
 * Opens the registry a process uses: the SQLite file in BERTH_HOME by default, etcd
 * when `BERTH_REGISTRY` (or the config's `registry` key) names it. The etcd adapter
 * and its client are imported only then: a SQLite process never loads them.
 */
import type { Registry, RegistryTx } from '../../core/registry.js';
import { chooseRegistry } from '../../core/registry-url.js';
import { deferRegistry } from './deferred.js';
import { openRegistry } from './sqlite.js';

/** What {@link openChosenRegistry} needs. */
export interface ChosenRegistryOptions {
  /** The config's `registry` key (or a library option); `$BERTH_REGISTRY` wins over it. */
  configured?: string | null | undefined;
  /** BERTH_HOME, for the SQLite file. */
  home: string;
  now: () => number;
  beforeBatch: (tx: RegistryTx) => void;
  processes: {
    self(): { pid: number; startTime: string | null };
    isAlive(owner: { pid: number; startTime: string | null }): boolean;
  };
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** etcd: attach leases with an owner to this process's etcd lease (default true). */
  attachOwned?: boolean;
}

/**
 * The chosen registry. An etcd registry comes back still opening: its transactions
 * wait for it, synchronous reads need `await registry.ready()` first.
 *
 * @example
 * const registry = openChosenRegistry({ home, now: Date.now, beforeBatch: () => {}, processes });
 * await registry.ready?.();
 */
export function openChosenRegistry(options: ChosenRegistryOptions): Registry {
  const env = options.env ?? process.env;
  const choice = chooseRegistry(options.configured, env);
  if (choice.kind === 'sqlite') {
    const { home, now, processes, beforeBatch } = options;
    return openRegistry({ home, now, processes, beforeBatch });
  }
  const { processes } = options;
  const open = () =>
    import('./etcd/registry.js').then(async ({ openEtcdRegistry }) => {
      const { hostName, advertisedAddress } = await import('./etcd/host.js');
      return openEtcdRegistry({
        url: choice.url,
        endpoints: choice.endpoints,
        prefix: choice.prefix,
        host: hostName(env),
        address: advertisedAddress(env),
        now: options.now,
        beforeBatch: options.beforeBatch,
        env,
        self: processes.self(),
        isAlive: (owner) => processes.isAlive(owner),
        ...(options.log ? { log: options.log } : {}),
        ...(options.attachOwned === undefined ? {} : { attachOwned: options.attachOwned }),
      });
    });
  return deferRegistry(open, choice.url);
}

/**
 * When BERTH_REGISTRY names etcd, starts loading its client now (the library's import),
 * not in the first getPort(): importing etcd3 (gRPC, protobuf) takes ~0.5 s of CPU. Loads
 * nothing for SQLite, connects to nothing, and reports nothing: a failure shows when the
 * registry is opened.
 *
 * @example
 * preloadChosenRegistry(); // beside loadSqlite() in a library entry
 */
export function preloadChosenRegistry(env: NodeJS.ProcessEnv = process.env): void {
  try {
    if (chooseRegistry(null, env).kind !== 'etcd') return;
  } catch {
    return;
  }
  import('./etcd/registry.js').then(({ preloadEtcdClient }) => preloadEtcdClient()).catch(() => {});
}
