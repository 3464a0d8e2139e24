import { describe, expect, it } from 'vitest';
import { parseNetstatListen } from './netstat.js';

const WINDOWS = `
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1012
  TCP    0.0.0.0:3000           0.0.0.0:0              LISTENING       1234
  TCP    127.0.0.1:3001         0.0.0.0:0              LISTENING       2345
  TCP    127.0.0.1:3001         127.0.0.1:50123        ESTABLISHED     2345
  TCP    127.0.0.1:50123        127.0.0.1:3001         ESTABLISHED     3456
  TCP    192.168.1.20:49700     0.0.0.0:0              BOUND           4567
  TCP    [::]:3000              [::]:0                 LISTENING       1234
  TCP    [::1]:3002             [::]:0                 LISTENING       5678
  TCP    [::ffff:127.0.0.1]:3003  [::]:0               LISTENING       6789
  TCP    [fe80::1%7]:3004       [::]:0                 LISTENING       7890
  UDP    0.0.0.0:5353           *:*                                    2222
`.replace(/\n/g, '\r\n');

describe('parseNetstatListen on Windows (netstat -ano)', () => {
  it('reads IPv4, IPv6 [::], [::1], IPv4-mapped and zoned listeners; skips connections, BOUND and UDP', () => {
    expect(parseNetstatListen(WINDOWS, 'win32')).toEqual([
      { pid: 1012, command: null, user: null, uid: null, address: '0.0.0.0', port: 135 },
      { pid: 1234, command: null, user: null, uid: null, address: '0.0.0.0', port: 3000 },
      { pid: 2345, command: null, user: null, uid: null, address: '127.0.0.1', port: 3001 },
      { pid: 1234, command: null, user: null, uid: null, address: '::', port: 3000 },
      { pid: 5678, command: null, user: null, uid: null, address: '::1', port: 3002 },
      { pid: 6789, command: null, user: null, uid: null, address: '::ffff:127.0.0.1', port: 3003 },
      { pid: 7890, command: null, user: null, uid: null, address: 'fe80::1%7', port: 3004 },
    ]);
  });

  it('recognises listeners on a display language that translates the state, by their foreign port 0', () => {
    const german = [
      '  Proto  Lokale Adresse         Remoteadresse          Status           PID',
      '  TCP    0.0.0.0:3000           0.0.0.0:0              ABHÖREN          1234',
      '  TCP    127.0.0.1:3001         127.0.0.1:50123        HERGESTELLT      2345',
    ].join('\r\n');
    expect(parseNetstatListen(german, 'win32').map(({ pid, port }) => [pid, port])).toEqual([[1234, 3000]]);
  });
});

describe('parseNetstatListen on macOS (netstat -anv -p tcp)', () => {
  it('reads the numeric pid column of older releases (pid, epid)', () => {
    const output = [
      'Active Internet connections (including servers)',
      'Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)     rhiwat shiwat    pid   epid  state    options',
      'tcp4       0      0  127.0.0.1.3000         *.*                    LISTEN      131072 131072   4242      0 0x0080 0x00000006',
      'tcp46      0      0  *.3001                 *.*                    LISTEN      131072 131072   4243      0 0x0080 0x00000006',
      'tcp6       0      0  ::1.3002               *.*                    LISTEN      131072 131072   4244      0 0x0080 0x00000006',
      'tcp4       0      0  127.0.0.1.3000         127.0.0.1.50123        ESTABLISHED 408300 146988   4242      0 0x0102 0x00000008',
      'tcp6       0      0  ::ffff:127.0.0.1.3003  *.*                    LISTEN      131072 131072   4245      0 0x0080 0x00000006',
    ].join('\n');
    expect(parseNetstatListen(output, 'darwin')).toEqual([
      { pid: 4242, command: null, user: null, uid: null, address: '127.0.0.1', port: 3000 },
      { pid: 4243, command: null, user: null, uid: null, address: '*', port: 3001 },
      { pid: 4244, command: null, user: null, uid: null, address: '::1', port: 3002 },
      { pid: 4245, command: null, user: null, uid: null, address: '::ffff:127.0.0.1', port: 3003 },
    ]);
  });

  it('reads the process:pid column of newer releases, with spaces in the process name', () => {
    const output = [
      'Active Internet connections (including servers)',
      'Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)          rxbytes      txbytes  rhiwat  shiwat    process:pid   state  options           gencnt    flags   flags1 usscnt rtncnt fltrs',
      'tcp46      0      0  *.3000                 *.*                    LISTEN                 0            0  131072  131072      node:4242  00000 00000006 0000000000001c2a 00000000 00000800      1      0 000001',
      'tcp4       0      0  127.0.0.1.3001         *.*                    LISTEN                 0            0  131072  131072  Google Chrome H:777  00000 00000006 0000000000001c2b 00000000 00000800      1      0 000001',
      'tcp6       0      0  ::1.3002               *.*                    LISTEN                 0            0  131072  131072   com.docker.backend:88  00000 00000006 0000000000001c2c 00000000 00000800      1      0 000001',
    ].join('\n');
    expect(parseNetstatListen(output, 'darwin')).toEqual([
      { pid: 4242, command: 'node', user: null, uid: null, address: '*', port: 3000 },
      { pid: 777, command: 'Google Chrome H', user: null, uid: null, address: '127.0.0.1', port: 3001 },
      { pid: 88, command: 'com.docker.backend', user: null, uid: null, address: '::1', port: 3002 },
    ]);
  });

  it('reports nothing when the output has no pid column (netstat run without -v)', () => {
    const output = [
      'Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)',
      'tcp46      0      0  *.80                   *.*                    LISTEN',
    ].join('\n');
    expect(parseNetstatListen(output, 'darwin')).toEqual([]);
  });
});
