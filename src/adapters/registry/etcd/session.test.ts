import { describe, expect, it } from 'vitest';
import { registryError } from './session.js';

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
