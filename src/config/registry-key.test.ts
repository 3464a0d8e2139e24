import { describe, expect, it } from 'vitest';
import { validateConfig } from './validate.js';

const ctx = { dir: '/w/shop', file: '/w/shop/berth.config.json', environment: 'development' };
const config = (registry: unknown) => ({ registry, services: { server: { preferred: [3000] } } });

describe('the registry key', () => {
  it('takes an etcd URL or sqlite', () => {
    expect(validateConfig(config('etcd://a:2379,b:2379/team'), ctx).config?.registry).toBe(
      'etcd://a:2379,b:2379/team',
    );
    expect(validateConfig(config('sqlite'), ctx).config?.registry).toBe('sqlite');
    expect(validateConfig({ services: { server: {} } }, ctx).config?.registry).toBeNull();
  });

  it('refuses credentials in a config file, naming the environment variables', () => {
    for (const url of ['etcd://root:secret@a:2379', 'etcd://a:2379?password=x']) {
      const { errors } = validateConfig(config(url), ctx);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.path).toBe('registry');
      expect(errors[0]!.message).toContain('BERTH_ETCD_USER');
      expect(errors[0]!.message).toContain('BERTH_ETCD_PASSWORD');
    }
  });

  it('refuses what is not a registry URL', () => {
    const { errors } = validateConfig(config('redis://a:6379'), ctx);
    expect(errors.map((e) => e.path)).toEqual(['registry']);
    expect(validateConfig(config(2379), ctx).errors.map((e) => e.path)).toEqual(['registry']);
  });

  it("reads the URL with the registry's own parser: a member that is no host:port is named", () => {
    const { errors } = validateConfig(config('etcd://a:2379,b c'), ctx);
    expect(errors.map((e) => e.path)).toEqual(['registry']);
    expect(errors[0]!.message).toContain('"b c" is not a host:port');
  });
});
