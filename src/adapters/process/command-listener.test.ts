import { describe, expect, it } from 'vitest';
import { splitAddressPort } from './command-listener.js';

describe('splitAddressPort', () => {
  it.each([
    ['*:3000', ':', '*', 3000],
    ['127.0.0.1:3000', ':', '127.0.0.1', 3000],
    ['[::1]:3000', ':', '::1', 3000],
    ['[::]:3000', ':', '::', 3000],
    ['[::ffff:127.0.0.1]:3000', ':', '::ffff:127.0.0.1', 3000],
    ['[fe80::1%7]:65535', ':', 'fe80::1%7', 65535],
    ['*.3000', '.', '*', 3000],
    ['127.0.0.1.3000', '.', '127.0.0.1', 3000],
    ['::1.3000', '.', '::1', 3000],
    ['::ffff:127.0.0.1.3000', '.', '::ffff:127.0.0.1', 3000],
    ['fe80::1%lo0.3000', '.', 'fe80::1%lo0', 3000],
  ] as const)('splits %s', (name, separator, address, port) => {
    expect(splitAddressPort(name, separator)).toEqual({ address, port });
  });

  it.each([
    ['*.*', '.'],
    ['*:*', ':'],
    ['127.0.0.1:65536', ':'],
    ['3000', ':'],
    [':3000', ':'],
    ['host:30a0', ':'],
  ] as const)('rejects %s', (name, separator) => {
    expect(splitAddressPort(name, separator)).toBeNull();
  });
});
