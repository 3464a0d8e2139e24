import { SocketAddress } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipv4Text, ipv6Text } from './ip-text.js';

/** 16 bytes from eight 16-bit groups. */
function bytesOf(groups: readonly number[]): number[] {
  return groups.flatMap((group) => [group >> 8, group & 0xff]);
}

/** How Node itself writes the address (libuv's inet_ntop). */
function nodeText(groups: readonly number[]): string {
  return new SocketAddress({ address: groups.map((group) => group.toString(16)).join(':'), family: 'ipv6' })
    .address;
}

describe('ipv6Text', () => {
  it.each([
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0, 0, 0, 0, 0, 0xffff, 0x7f00, 1], '::ffff:127.0.0.1'],
    [[0, 0, 0, 0, 0, 0xffff, 0, 0], '::ffff:0.0.0.0'],
    [[0, 0, 0, 0, 0, 0, 0x7f00, 1], '::127.0.0.1'],
    [[0, 0, 0, 0, 0, 0, 0, 2], '::2'],
    [[0xfe80, 0, 0, 0, 0x00fc, 0x00ff, 0xfe00, 1], 'fe80::fc:ff:fe00:1'],
    [[0xfd00, 0, 0, 0, 0, 0, 0, 2], 'fd00::2'],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[1, 0, 0, 0, 0, 0, 0, 0], '1::'],
    [[0x2001, 0xdb8, 1, 2, 3, 4, 5, 6], '2001:db8:1:2:3:4:5:6'],
    [[0x2001, 0, 0xdb8, 0, 1, 0, 1, 0], '2001:0:db8:0:1:0:1:0'],
  ])('writes %j as %s, as Node does', (groups, text) => {
    expect(ipv6Text(bytesOf(groups))).toBe(text);
    expect(nodeText(groups)).toBe(text);
  });

  it('agrees with Node on addresses made mostly of zero groups', () => {
    // Deterministic sweep: every pattern of zero / non-zero groups, with varied values.
    for (let mask = 0; mask < 256; mask++) {
      const groups = Array.from({ length: 8 }, (_, g) =>
        (mask >> g) & 1 ? (mask * 2654435761 + g * 40503) >>> 16 || 1 : 0,
      );
      expect(ipv6Text(bytesOf(groups)), groups.join(':')).toBe(nodeText(groups));
    }
  });
});

describe('ipv4Text', () => {
  it('writes a dotted quad', () => {
    expect(ipv4Text(192, 0, 2, 255)).toBe('192.0.2.255');
  });
});
