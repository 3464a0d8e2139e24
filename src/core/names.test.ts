import { describe, expect, it } from 'vitest';
import {
  type CheckoutName,
  chooseCheckoutLabel,
  dnsLabel,
  hostName,
  hostTarget,
  namedUrl,
  nameTable,
  serviceLabel,
  type TableLease,
} from './names.js';
import type { Lease } from './types.js';

const main: CheckoutName = { dir: '/w/shop', project: 'shop', label: '' };
const feature: CheckoutName = { dir: '/w/shop-x', project: 'shop', label: 'feature-x' };

function lease(over: Partial<Lease> = {}): Lease {
  return {
    id: 1,
    port: 3000,
    kind: 'service',
    project: 'shop',
    dir: '/w/shop',
    environment: 'development',
    service: 'web',
    inheritsFrom: null,
    scheme: 'http',
    owner: null,
    createdAt: 1,
    expiresAt: null,
    ...over,
  };
}

const live = (over: Partial<Lease> = {}): TableLease => ({ lease: lease(over), live: true });

describe('dnsLabel', () => {
  it('lower-cases, turns other characters into one -, trims - and cuts at 63', () => {
    expect(dnsLabel('My_Shop')).toBe('my-shop');
    expect(dnsLabel('feature/login--page')).toBe('feature-login-page');
    expect(dnsLabel('--x--')).toBe('x');
    expect(dnsLabel('日本')).toBe('');
    const long = dnsLabel(`${'a'.repeat(62)}_b`);
    expect(long).toBe('a'.repeat(62));
    expect(dnsLabel('a'.repeat(100))).toHaveLength(63);
  });
});

describe('chooseCheckoutLabel', () => {
  const folder = (name: string) => ({ kind: 'folder' as const, branch: null, folder: name });
  it('gives the first checkout no label, the next its folder, a clash a number', () => {
    expect(chooseCheckoutLabel(folder('shop'), 'shop', new Set())).toBe('');
    expect(chooseCheckoutLabel(folder('shop-copy'), 'shop', new Set(['']))).toBe('shop-copy');
    expect(chooseCheckoutLabel(folder('shop-copy'), 'shop', new Set(['', 'shop-copy']))).toBe('shop-copy-2');
  });
  it('numbers a folder named like the project instead of repeating the project', () => {
    expect(chooseCheckoutLabel(folder('shop'), 'shop', new Set(['']))).toBe('shop-2');
  });
  it('labels a linked worktree by its branch even when it registers first', () => {
    const wt = { kind: 'linked-worktree' as const, branch: 'feature/Login', folder: 'wt-3' };
    expect(chooseCheckoutLabel(wt, 'shop', new Set())).toBe('feature-login');
    expect(chooseCheckoutLabel({ ...wt, branch: null }, 'shop', new Set())).toBe('wt-3');
  });
  it('falls back to "checkout" when nothing usable is left of the name', () => {
    expect(chooseCheckoutLabel(folder('日本'), 'shop', new Set(['']))).toBe('checkout');
  });
});

describe('host names', () => {
  it('builds the plain, checkout and environment forms', () => {
    expect(hostName('web', 'development', main)).toBe('web.shop.localhost');
    expect(hostName('web', 'development', feature)).toBe('web.feature-x.shop.localhost');
    expect(hostName('Web_App', 'staging', main)).toBe('web-app-staging.shop.localhost');
    expect(serviceLabel('api', 'test.1')).toBe('api-test-1');
    expect(namedUrl('ws', 'api.shop.localhost', 4939)).toBe('ws://api.shop.localhost:4939');
    expect(namedUrl('http', 'api.shop.localhost', 80)).toBe('http://api.shop.localhost');
  });
});

describe('hostTarget', () => {
  it('reads names under .localhost with or without a port or final dot, any case', () => {
    expect(hostTarget('Web.Shop.localhost:4939')).toEqual({
      kind: 'name',
      name: 'web.shop.localhost',
      port: 4939,
    });
    expect(hostTarget('web.shop.localhost.')).toEqual({
      kind: 'name',
      name: 'web.shop.localhost',
      port: null,
    });
    expect(hostTarget('localhost:4939')).toEqual({ kind: 'index', port: 4939 });
  });
  it('calls IPs, other domains, look-alikes and malformed headers foreign', () => {
    for (const host of [
      undefined,
      '',
      '127.0.0.1:4939',
      '[::1]:4939',
      'example.com',
      'api.shop.localhost.evil.com',
      'evil-localhost',
      'a_b.shop.localhost',
      'web..shop.localhost',
      '-web.shop.localhost',
      'web.shop.localhost:99999',
      'web.shop.localhost:x',
      `${'a'.repeat(64)}.localhost`,
    ]) {
      expect(hostTarget(host)).toEqual({ kind: 'foreign' });
    }
  });
});

describe('nameTable', () => {
  it('names live leases of every checkout, environment suffixes included', () => {
    const table = nameTable({
      checkouts: [main, feature],
      leases: [
        live({ service: 'web', port: 3000 }),
        live({ service: 'api', port: 3001 }),
        live({ service: 'websocket', port: 3001, inheritsFrom: 'api', scheme: 'ws' }),
        live({ dir: '/w/shop-x', service: 'web', port: 3100 }),
        live({ environment: 'staging', service: 'web', port: 3200 }),
      ],
      declared: [],
    });
    expect([...table.keys()].sort()).toEqual([
      'api.shop.localhost',
      'web-staging.shop.localhost',
      'web.feature-x.shop.localhost',
      'web.shop.localhost',
      'websocket.shop.localhost',
    ]);
    expect(table.get('websocket.shop.localhost')).toMatchObject({ port: 3001, scheme: 'ws', state: 'live' });
    expect(table.get('web.feature-x.shop.localhost')).toMatchObject({ port: 3100, dir: '/w/shop-x' });
  });

  it('leaves out test runs, ad-hoc leases, tcp/https services and folders without a label', () => {
    const table = nameTable({
      checkouts: [main],
      leases: [
        live({ environment: 'test.run-3f9a2c01', service: 'web', port: 1 }),
        live({ kind: 'adhoc', service: 'getPort', scheme: null, port: 2 }),
        live({ service: 'db', scheme: 'tcp', port: 3 }),
        live({ service: 'secure', scheme: 'https', port: 4 }),
        live({ dir: '/elsewhere', service: 'web', port: 5 }),
      ],
      declared: [],
    });
    expect([...table.keys()]).toEqual([]);
  });

  it('keeps a stopped service known (idle) with the port it had, and prefers the default environment on a clash', () => {
    const table = nameTable({
      checkouts: [main],
      leases: [
        { lease: lease({ service: 'api', port: 3001 }), live: false },
        live({ environment: 'test', service: 'web', port: 3300 }),
        live({ service: 'web-test', port: 3400 }),
      ],
      declared: [
        { dir: '/w/shop', service: 'web', scheme: 'http', lastPort: 3000 },
        { dir: '/w/shop', service: 'api', scheme: 'http', lastPort: 2999 },
        { dir: '/w/shop', service: 'db', scheme: 'tcp', lastPort: 5432 },
      ],
    });
    expect(table.get('web.shop.localhost')).toMatchObject({ state: 'idle', port: 3000 });
    expect(table.get('api.shop.localhost')).toMatchObject({ state: 'idle', port: 3001 });
    expect(table.get('web-test.shop.localhost')).toMatchObject({ state: 'live', port: 3400 });
    expect(table.has('db.shop.localhost')).toBe(false);
  });
});
