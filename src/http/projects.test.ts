import { describe, expect, it } from 'vitest';
import type { Lease } from '../core/types.js';
import { HttpError } from './errors.js';
import { resolveProject } from './projects.js';

function lease(
  project: string,
  dir: string,
  environment = 'development',
  kind: Lease['kind'] = 'service',
): Lease {
  return {
    id: 1,
    port: 41000,
    kind,
    project,
    dir,
    environment,
    service: 'server',
    inheritsFrom: null,
    scheme: 'http',
    owner: null,
    createdAt: 0,
    expiresAt: null,
  };
}

function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError');
}

const q = (project: string | undefined, dir?: string, environment = 'development') => ({
  project,
  dir,
  environment,
});

describe('resolveProject', () => {
  it('finds the one checkout of a name, preferring checkouts leased in the environment', () => {
    const leases = [lease('shop', '/a/shop', 'test'), lease('shop', '/b/shop')];
    expect(resolveProject(q('shop'), leases)).toEqual({ dir: '/b/shop', name: 'shop' });
    expect(resolveProject(q('shop', undefined, 'test'), leases)).toEqual({ dir: '/a/shop', name: 'shop' });
  });

  it('is ambiguous (409) for a name two checkouts share in the environment, listing both folders', () => {
    const error = thrown(() =>
      resolveProject(q('shop'), [lease('shop', '/b/shop'), lease('shop', '/a/shop')]),
    );
    expect([error.status, error.code]).toEqual([409, 'E_AMBIGUOUS']);
    expect(error.data.folders).toEqual(['/a/shop', '/b/shop']);
  });

  it('takes an absolute folder as the project, and dir= as the checkout of a name', () => {
    expect(resolveProject(q('/no/such/shop'), [])).toEqual({ dir: '/no/such/shop', name: null });
    expect(resolveProject(q('shop', '/no/such/shop'), [])).toEqual({ dir: '/no/such/shop', name: 'shop' });
    expect(thrown(() => resolveProject(q('shop', 'shop'), [])).status).toBe(400);
  });

  it('without a project, means the only checkout with leases in the environment', () => {
    expect(resolveProject(q(undefined), [lease('shop', '/a/shop')])).toEqual({ dir: '/a/shop', name: null });
    expect(thrown(() => resolveProject(q(undefined), [])).status).toBe(404);
    const two = thrown(() =>
      resolveProject(q(undefined), [lease('shop', '/a/shop'), lease('blog', '/b/blog')]),
    );
    expect([two.code, two.message]).toEqual([
      'E_AMBIGUOUS',
      '2 checkouts hold leases in environment "development" (projects blog, shop): /a/shop, /b/blog. Add project= with a name or one of these folders.',
    ]);
  });

  it('ignores ad-hoc getPort() leases and answers 404 for unknown names', () => {
    const error = thrown(() => resolveProject(q('shop'), [lease('shop', '/a/shop', 'development', 'adhoc')]));
    expect([error.status, error.code]).toEqual([404, 'E_NOT_FOUND']);
  });
});
