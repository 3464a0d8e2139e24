import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../../errors.js';
import { ETCD_INSTALL, loadClient, registryError } from './session.js';

describe('registryError', () => {
  it("names the registry, what failed and the fix, without grpc-js's empty resolution note", () => {
    const cause = new Error(
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: ',
    );
    const error = registryError('etcd://127.0.0.1:2379/berth', 'load its keys', cause, 8000);
    expect(error.code).toBe('E_REGISTRY');
    expect(error.message).toBe(
      'the etcd registry etcd://127.0.0.1:2379/berth failed to load its keys within 8000 ms: 14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Check that a majority of the members is up and reachable from here (etcdctl --endpoints=127.0.0.1:2379 endpoint health), then try again.',
    );
  });
});

describe('loadClient', () => {
  const missing = (name: string) =>
    Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });

  it('without etcd3 installed: E_REGISTRY at once with the install line, and a later call tries again', async () => {
    const absent = Object.assign(
      (name: string) => {
        throw missing(name);
      },
      { resolve: () => '', cache: {}, extensions: {}, main: undefined },
    ) as unknown as NodeJS.Require;
    const error = await loadClient(absent).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_REGISTRY')).toBe(true);
    expect((error as Error).message).toContain(`run \`${ETCD_INSTALL}\``);
    // Not remembered: once installed, the next load succeeds.
    const [etcd3, cockatiel] = await loadClient();
    expect(typeof etcd3.Etcd3).toBe('function');
    expect(typeof cockatiel.ExponentialBackoff).toBe('function');
  });
});
