import { describe, expect, it } from 'vitest';
import { parseLsofListen } from './lsof.js';

describe('parseLsofListen', () => {
  it('reads IPv4 and IPv6 loopback listeners of one process (as captured from lsof 4.95 on Linux)', () => {
    const output = 'p5152\ncnode\nu0\nLroot\nn127.0.0.1:44349\nn[::1]:44349\n';
    expect(parseLsofListen(output)).toEqual([
      { pid: 5152, command: 'node', user: 'root', uid: 0, address: '127.0.0.1', port: 44349 },
      { pid: 5152, command: 'node', user: 'root', uid: 0, address: '::1', port: 44349 },
    ]);
  });

  it('reads wildcard, IPv4-mapped and dual-stack names with the f fields macOS lsof adds', () => {
    const output = [
      'p4242',
      'cnode',
      'u501',
      'Lada',
      'f23',
      'n*:3000',
      'f24',
      'n[::ffff:127.0.0.1]:3001',
      'f25',
      'n[::]:3002',
      '',
    ].join('\n');
    expect(parseLsofListen(output).map(({ address, port }) => `${address} ${port}`)).toEqual([
      '* 3000',
      '::ffff:127.0.0.1 3001',
      ':: 3002',
    ]);
  });

  it('lists every process on a socket shared after fork, each with its own user fields', () => {
    const output = [
      'p100',
      'cgunicorn',
      'u1000',
      'Lada',
      'f5',
      'n*:8000',
      'p101',
      'cgunicorn',
      'u1000',
      'Lada',
      'f5',
      'n*:8000',
      'p102',
      'cgunicorn',
      'u1001',
      'f5',
      'n*:8000',
      '',
    ].join('\n');
    expect(parseLsofListen(output)).toEqual([
      { pid: 100, command: 'gunicorn', user: 'ada', uid: 1000, address: '*', port: 8000 },
      { pid: 101, command: 'gunicorn', user: 'ada', uid: 1000, address: '*', port: 8000 },
      // No L field: the numeric uid stands in for the login.
      { pid: 102, command: 'gunicorn', user: '1001', uid: 1001, address: '*', port: 8000 },
    ]);
  });

  it('lists a socket duplicated on several fds of one process once', () => {
    const output = 'p7\ncnginx\nu33\nLwww-data\nf6\nn*:8080\nf7\nn*:8080\n';
    expect(parseLsofListen(output)).toHaveLength(1);
  });

  it('ignores connected sockets, state suffixes and lines before the first process', () => {
    const output = [
      'n*:1',
      'p9',
      'ccurl',
      'f3',
      'n127.0.0.1:50000->127.0.0.1:3000',
      'f4',
      'n127.0.0.1:3000 (LISTEN)',
      '',
    ].join('\r\n');
    expect(parseLsofListen(output)).toEqual([
      { pid: 9, command: 'curl', user: null, uid: null, address: '127.0.0.1', port: 3000 },
    ]);
  });

  it('returns nothing for empty output (lsof found no listener)', () => {
    expect(parseLsofListen('')).toEqual([]);
  });
});
