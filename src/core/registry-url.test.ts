import { describe, expect, it } from 'vitest';
import { chooseRegistry, parseRegistryUrl } from './registry-url.js';

describe('registry URLs', () => {
  it('parses members and a prefix, adding the default port', () => {
    expect(parseRegistryUrl('etcd://a:2379,b,[::1]:2380/team/x')).toEqual({
      kind: 'etcd',
      endpoints: ['a:2379', 'b:2379', '[::1]:2380'],
      prefix: 'team/x',
      url: 'etcd://a:2379,b,[::1]:2380/team/x',
    });
    expect(parseRegistryUrl('etcd://a:2379')).toMatchObject({ prefix: 'berth' });
    expect(parseRegistryUrl('sqlite')).toEqual({ kind: 'sqlite' });
  });

  it('refuses credentials in the URL, naming the environment variables, without echoing them', () => {
    let error: unknown;
    try {
      parseRegistryUrl('etcd://root:hunter2@a:2379');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'E_USAGE' });
    expect((error as Error).message).toContain('BERTH_ETCD_PASSWORD');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('refuses other schemes and bad members', () => {
    expect(() => parseRegistryUrl('redis://a')).toThrow(/not a registry URL/);
    expect(() => parseRegistryUrl('etcd://a b:1')).toThrow(/host:port/);
  });

  it('BERTH_REGISTRY wins over the config, which wins over the default', () => {
    expect(chooseRegistry('etcd://c:1', { BERTH_REGISTRY: 'etcd://e:1' })).toMatchObject({
      endpoints: ['e:1'],
    });
    expect(chooseRegistry('etcd://c:1', {})).toMatchObject({ endpoints: ['c:1'] });
    expect(chooseRegistry(null, { BERTH_REGISTRY: 'sqlite' })).toEqual({ kind: 'sqlite' });
    expect(chooseRegistry(null, {})).toEqual({ kind: 'sqlite' });
  });
});
