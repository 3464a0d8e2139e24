/**
 * A registry that is still opening: what `createAdapters` returns for a registry kept
 * elsewhere (etcd), whose client is imported and whose mirror is loaded
 * asynchronously. Transactions wait for the opening; synchronous reads need
 * `await registry.ready()` first (`openAdapters` in src/compose/context.ts does it).
 */
import type { Registry, RegistryTx, SyncTransactionOptions } from '../../core/registry.js';
import { BerthError } from '../../errors.js';

/**
 * Wraps a registry being opened.
 *
 * @example
 * const registry = deferRegistry(import('./etcd/registry.js').then((m) => m.openEtcdRegistry(options)), url);
 * await registry.ready?.();
 */
export function deferRegistry(opening: Promise<Registry>, path: string): Registry {
  let opened: Registry | null = null;
  let closed = false;
  const settled = opening.then(
    (registry) => {
      opened = registry;
      if (closed) registry.close();
      return registry;
    },
    (error: unknown) => {
      throw error;
    },
  );
  // Nobody may be waiting yet: the failure is reported by the first call that needs the registry.
  settled.catch(() => {});
  const now = (): Registry => {
    if (opened) return opened;
    throw new BerthError(
      'E_REGISTRY',
      `the registry ${path} is still opening. Await registry.ready() (or use openAdapters) before reading from it.`,
    );
  };
  return {
    path,
    get directory() {
      return (opened as Registry | null)?.directory;
    },
    ready: async () => {
      const registry = await settled;
      await registry.ready?.();
    },
    transaction: async <T>(fn: (tx: RegistryTx) => T) => (await settled).transaction(fn),
    transactionSync: <T>(fn: (tx: RegistryTx) => T, options?: SyncTransactionOptions) =>
      now().transactionSync(fn, options),
    scopeLeases: (scope) => now().scopeLeases(scope),
    leasedPorts: (min, max) => now().leasedPorts(min, max),
    leasesInRange: (min, max) => now().leasesInRange(min, max),
    lease: (id) => now().lease(id),
    owners: () => now().owners(),
    leasesOwnedBy: (pid) => now().leasesOwnedBy(pid),
    allLeases: () => now().allLeases(),
    history: (scope) => now().history(scope),
    eventsSince: (afterId, limit) => now().eventsSince(afterId, limit),
    lastEventId: () => now().lastEventId(),
    close: () => {
      closed = true;
      opened?.close();
    },
  };
}
