import { describe, expect, it } from 'vitest';
import type { Registry } from '../../core/registry.js';
import { deferRegistry } from './deferred.js';

describe('a registry still opening', () => {
  it('transactions wait for it; reads need ready() first; a failed open reaches whoever waits', async () => {
    let open!: (r: Registry) => void;
    const inner = {
      path: 'x',
      allLeases: () => [],
      transaction: async <T>(fn: (tx: never) => T) => fn({} as never),
      close: () => {},
    };
    const registry = deferRegistry(
      new Promise<Registry>((resolve) => {
        open = resolve;
      }),
      'etcd://a:2379',
    );
    expect(() => registry.allLeases()).toThrow(/still opening/);
    const pending = registry.transaction(() => 42);
    open(inner as unknown as Registry);
    expect(await pending).toBe(42);
    await registry.ready!();
    expect(registry.allLeases()).toEqual([]);
    const failing = deferRegistry(Promise.reject(new Error('no etcd')), 'etcd://b:2379');
    await expect(failing.ready!()).rejects.toThrow('no etcd');
    await expect(failing.transaction(() => 1)).rejects.toThrow('no etcd');
  });
});
