import { describe, expect, it } from 'vitest';
import { leaseOnPort } from '../../compose/who.js';
import type { Lease } from '../../core/types.js';
import { whoJson } from './who.js';

const lease = (service: string, inheritsFrom: string | null): Lease => ({
  id: service.length,
  port: 3000,
  kind: 'service',
  project: 'shop',
  dir: '/src/shop',
  environment: 'development',
  service,
  inheritsFrom,
  scheme: inheritsFrom ? 'ws' : 'http',
  owner: null,
  createdAt: 0,
  expiresAt: null,
});

describe('leaseOnPort', () => {
  it('prefers the lease that owns the port over the services inheriting it', () => {
    expect(leaseOnPort([lease('websocket', 'server'), lease('server', null)])?.service).toBe('server');
    expect(leaseOnPort([])).toBeNull();
  });
});

describe('whoJson', () => {
  it('lists visible and hidden listeners in the documented shape', () => {
    const json = whoJson(
      {
        port: 3000,
        holders: [
          { pid: 42, user: 'ada', uid: 1000, command: 'node server.js', startedAt: 1, address: '127.0.0.1' },
        ],
        hidden: [{ address: '::', uid: 0, reason: 'other-user' }],
      },
      lease('server', null),
      (uid) => (uid === 0 ? 'root' : null),
    );
    expect(json).toEqual({
      port: 3000,
      listeners: [
        { pid: 42, user: 'ada', command: 'node server.js', address: '127.0.0.1' },
        { pid: null, user: 'root', command: null, address: '::' },
      ],
      lease: { project: 'shop', service: 'server', environment: 'development' },
    });
  });

  it('has a null lease for a port berth did not lease', () => {
    expect(whoJson({ port: 1, holders: [], hidden: [] }, null, () => null)).toEqual({
      port: 1,
      listeners: [],
      lease: null,
    });
  });
});
