import { describe, expect, it } from 'vitest';
import { advertisedAddress, hostName, urlHost } from './host.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({
  address,
  family,
  internal,
  netmask: '',
  mac: '00:00:00:00:00:00',
  cidr: null,
  ...(family === 'IPv6' ? { scopeid: 0 } : {}),
});

describe('host identity', () => {
  it('BERTH_HOST names the host, else the hostname', () => {
    expect(hostName({ BERTH_HOST: ' ci-7 ' })).toBe('ci-7');
    expect(hostName({})).not.toBe('');
  });

  it('advertises BERTH_ADVERTISE, else the first non-loopback IPv4, then IPv6, never link-local', () => {
    const interfaces = {
      lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
      eth0: [iface('fe80::1', 'IPv6'), iface('fd00::7', 'IPv6'), iface('10.0.0.7', 'IPv4')],
    } as never;
    expect(advertisedAddress({ BERTH_ADVERTISE: 'dev.internal' }, interfaces)).toBe('dev.internal');
    expect(advertisedAddress({}, interfaces)).toBe('10.0.0.7');
    const v6 = {
      lo: [iface('127.0.0.1', 'IPv4', true)],
      eth0: [iface('fe80::1', 'IPv6'), iface('fd00::7', 'IPv6')],
    } as never;
    expect(advertisedAddress({}, v6)).toBe('fd00::7');
    expect(advertisedAddress({}, { lo: [iface('127.0.0.1', 'IPv4', true)] } as never)).toBeNull();
  });

  it('brackets IPv6 addresses in URLs', () => {
    expect(urlHost('fd00::7')).toBe('[fd00::7]');
    expect(urlHost('10.0.0.7')).toBe('10.0.0.7');
  });
});
