/**
 * A registry that is still opening: what `createAdapters` returns for a registry kept
 * elsewhere (etcd), whose client is imported and whose mirror is loaded
 * asynchronously. Transactions wait for the opening; synchronous reads need
 * `await registry.ready()` first (`openAdapters` in src/compose/context.ts does it).
 *
 * A failed opening (etcd unreachable, no quorum) is not kept: it fails the calls that
 * waited for it, and the next call opens again, so a process started during an outage
 * works once the registry is back.
 */
import type { Registry, RegistryTx, SyncTransactionOptions } from '../../core/registry.js';
import { BerthError } from '../../errors.js';

/**
 * Wraps a registry opened by `open` (called now, and again after a failure, by the next call).
 *
 * @example
 * const registry = deferRegistry(() => import('./etcd/registry.js').then((m) => m.openEtcdRegistry(options)), url);
 * await registry.ready?.();
 */
export function deferRegistry(open: () => Promise<Registry>, path: string): Registry {
  let opened: Registry | null = null;
  let opening: Promise<Registry> | null = null;
  let failure: unknown = null;
  let closed = false;
  const start = (): Promise<Registry> => {
    if (opened) return Promise.resolve(opened);
    if (closed) return Promise.reject(new BerthError('E_REGISTRY', `the registry ${path} is closed.`));
    opening ??= open().then(
      (registry) => {
        opening = null;
        failure = null;
        if (closed) registry.close();
        else opened = registry;
        return registry;
      },
      (error: unknown) => {
        // Not remembered: the next call opens again.
        opening = null;
        failure = error;
        throw error;
      },
    );
    return opening;
  };
  // Nobody may be waiting yet: the failure is reported by the first call that needs the registry.
  start().catch(() => {});
  const now = (): Registry => {
    if (opened) return opened;
    const last = failure;
    // A synchronous read cannot wait: it reports the last failure, and the registry opens again meanwhile.
    if (!opening) start().catch(() => {});
    if (last) throw last;
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
      const registry = await start();
      await registry.ready?.();
    },
    transaction: async (fn, options) => (await start()).transaction(fn, options),
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
