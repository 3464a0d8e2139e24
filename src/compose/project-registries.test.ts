import { describe, expect, it } from 'vitest';
import type { Lease } from '../core/types.js';
import type { Adapters } from './context.js';
import { ProjectRegistries } from './project-registries.js';

const fake = (leases: Partial<Lease>[]) =>
  ({ registry: { allLeases: () => leases, close: () => {} } }) as unknown as Adapters;

describe("the daemon's registries", () => {
  it("serves a project from its config's registry, opened once; from its own without a key", async () => {
    const own = fake([{ project: 'a' }]);
    const other = fake([{ project: 'b' }]);
    const opened: string[] = [];
    const registries = new ProjectRegistries(
      own,
      async (url) => {
        opened.push(url);
        return other;
      },
      {},
    );
    expect(await registries.for(null)).toBe(own);
    expect(await registries.for({ registry: null })).toBe(own);
    expect(await registries.for({ registry: 'sqlite' })).toBe(own);
    expect(await registries.for({ registry: 'etcd://e1:2379/team' })).toBe(other);
    expect(await registries.for({ registry: 'etcd://e1:2379/team' })).toBe(other);
    expect(opened).toEqual(['etcd://e1:2379/team']);
    expect((await registries.knownLeases()).map((l) => l.project)).toEqual(['a', 'b']);
  });

  it('follows BERTH_REGISTRY over every config, as the CLI does', async () => {
    const own = fake([]);
    const registries = new ProjectRegistries(
      own,
      async () => {
        throw new Error('must not open');
      },
      { BERTH_REGISTRY: 'etcd://e2:2379' },
    );
    expect(await registries.for({ registry: 'etcd://e1:2379/team' })).toBe(own);
  });

  it('does not keep a failed opening: the next request opens again', async () => {
    let up = false;
    const other = fake([]);
    const registries = new ProjectRegistries(
      fake([]),
      async () => {
        if (!up) throw new Error('etcd down');
        return other;
      },
      {},
    );
    await expect(registries.for({ registry: 'etcd://e1:2379' })).rejects.toThrow('etcd down');
    up = true;
    expect(await registries.for({ registry: 'etcd://e1:2379' })).toBe(other);
  });
});
