import { describe, expect, it } from 'vitest';
import type { Registry } from '../../core/registry.js';
import { deferRegistry } from './deferred.js';

const inner = () =>
  ({
    path: 'x',
    allLeases: () => [],
    transaction: async <T>(fn: (tx: never) => T) => fn({} as never),
    close: () => {},
  }) as unknown as Registry;

describe('a registry still opening', () => {
  it('transactions wait for it; reads need ready() first; a failed open reaches whoever waits', async () => {
    let open!: (r: Registry) => void;
    const registry = deferRegistry(
      () =>
        new Promise<Registry>((resolve) => {
          open = resolve;
        }),
      'etcd://a:2379',
    );
    expect(() => registry.allLeases()).toThrow(/still opening/);
    const pending = registry.transaction(() => 42);
    open(inner());
    expect(await pending).toBe(42);
    await registry.ready!();
    expect(registry.allLeases()).toEqual([]);
    const failing = deferRegistry(() => Promise.reject(new Error('no etcd')), 'etcd://b:2379');
    await expect(failing.ready!()).rejects.toThrow('no etcd');
    await expect(failing.transaction(() => 1)).rejects.toThrow('no etcd');
  });

  it('does not keep a failed opening: the next call opens again, and works once the registry is back', async () => {
    let up = false;
    let opens = 0;
    const registry = deferRegistry(async () => {
      opens++;
      if (!up) throw new Error('no quorum');
      return inner();
    }, 'etcd://c:2379');
    await expect(registry.transaction(() => 1)).rejects.toThrow('no quorum');
    // A synchronous read reports the last failure (and opens again in the background).
    expect(() => registry.allLeases()).toThrow('no quorum');
    await expect(registry.ready!()).rejects.toThrow('no quorum');
    up = true;
    expect(await registry.transaction(() => 7)).toBe(7);
    expect(registry.allLeases()).toEqual([]);
    // Opened once it worked, and not again.
    const before = opens;
    await registry.ready!();
    expect(opens).toBe(before);
  });

  it('closes a registry whose opening finishes after close()', async () => {
    let closedInner = false;
    let open!: (r: Registry) => void;
    const registry = deferRegistry(
      () =>
        new Promise<Registry>((resolve) => {
          open = resolve;
        }),
      'etcd://d:2379',
    );
    const pending = registry.transaction(() => 1);
    registry.close();
    open({
      ...inner(),
      close: () => {
        closedInner = true;
      },
    } as Registry);
    await pending.catch(() => {});
    expect(closedInner).toBe(true);
  });
});
