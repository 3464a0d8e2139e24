import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProcNetTcp, readListeners, readListenersAsync } from './procnet.js';

// Captured from Linux 6.18 on x86_64 (little-endian), uids and inodes edited.
// The kernel pads every /proc/net/tcp line to 149 characters.
const TCP_LE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 020200C0:B381 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5837 1 000000002de49107 100 0 0 10 0',
  '   1: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5835 1 0000000029f5e903 100 0 0 10 0',
  '   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1610 1 000000002912ede0 100 0 0 10 0',
  '   3: 0100007F:0BB8 0100007F:D968 01 00000000:00000000 00:00000000 00000000  1000        0 5845 1 00000000f7a60d63 20 0 0 10 -1',
  '   4: 0100007F:D968 0100007F:0BB8 06 00000000:00000000 03:00001770 00000000     0        0 0 3 00000000a7f4a0b4',
]
  .map((line) => line.padEnd(149))
  .join('\n')
  .concat('\n');

const TCP6_LE = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 000000FD000000000000000002000000:AC2D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5838 1 00000000e877fd86 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:8C39 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5843 1 000000007d38aabe 100 0 0 10 0
   2: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5834 1 0000000045827553 100 0 0 10 0
   3: 000080FE00000000FF00FC00010000FE:AA9F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5840 1 000000003d7c4fc4 100 0 0 10 0
   4: 00000000000000000000000001000000:8BC9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5836 1 000000007f856320 100 0 0 10 0
   5: 00000000000000000000000001000000:8BC9 00000000000000000000000001000000:E2A4 01 00000000:00000000 00:00000000 00000000  1000        0 5901 1 0000000011112222 20 4 30 10 -1
`;

// The same sockets as a big-endian machine (s390x) prints them: each word reads in network order.
const TCP_BE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: C0000202:B381 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5837 1 000000002de49107 100 0 0 10 0',
  '   1: 7F000001:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5835 1 0000000029f5e903 100 0 0 10 0',
  '   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1610 1 000000002912ede0 100 0 0 10 0',
  '   3: 7F000001:0BB8 7F000001:D968 01 00000000:00000000 00:00000000 00000000  1000        0 5845 1 00000000f7a60d63 20 0 0 10 -1',
  '   4: 7F000001:D968 7F000001:0BB8 06 00000000:00000000 03:00001770 00000000     0        0 0 3 00000000a7f4a0b4',
]
  .map((line) => line.padEnd(149))
  .join('\n')
  .concat('\n');

const TCP6_BE = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: FD000000000000000000000000000002:AC2D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5838 1 00000000e877fd86 100 0 0 10 0
   1: 00000000000000000000FFFF7F000001:8C39 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5843 1 000000007d38aabe 100 0 0 10 0
   2: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5834 1 0000000045827553 100 0 0 10 0
   3: FE8000000000000000FC00FFFE000001:AA9F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5840 1 000000003d7c4fc4 100 0 0 10 0
   4: 00000000000000000000000000000001:8BC9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5836 1 000000007f856320 100 0 0 10 0
`;

const EXPECTED_TCP = [
  { address: '192.0.2.2', port: 0xb381, inode: 5837, uid: 1000 },
  { address: '127.0.0.1', port: 3000, inode: 5835, uid: 1000 },
  { address: '0.0.0.0', port: 2024, inode: 1610, uid: 0 },
];

// readListeners parses in this machine's byte order.
const HOST_TCP = endianness() === 'LE' ? TCP_LE : TCP_BE;
const HOST_TCP6 = endianness() === 'LE' ? TCP6_LE : TCP6_BE;
const HOST_LOOPBACK_HEX = endianness() === 'LE' ? '0100007F' : '7F000001';

const EXPECTED_TCP6 = [
  { address: 'fd00::2', port: 0xac2d, inode: 5838, uid: 1000 },
  { address: '::ffff:127.0.0.1', port: 0x8c39, inode: 5843, uid: 1000 },
  { address: '::', port: 8080, inode: 5834, uid: 1000 },
  { address: 'fe80::fc:ff:fe00:1', port: 0xaa9f, inode: 5840, uid: 1000 },
  { address: '::1', port: 0x8bc9, inode: 5836, uid: 1000 },
];

describe('parseProcNetTcp', () => {
  it('reads IPv4 LISTEN rows written by a little-endian kernel (wildcard, loopback, interface)', () => {
    expect(parseProcNetTcp(TCP_LE, 4, 'LE')).toEqual(EXPECTED_TCP);
  });

  it('ignores established and time-wait rows', () => {
    const ports = parseProcNetTcp(TCP_LE, 4, 'LE').map((listener) => listener.port);
    expect(ports).not.toContain(0xd968);
    expect(ports.filter((port) => port === 3000)).toHaveLength(1);
  });

  it('reads IPv6 rows: interface, IPv4-mapped, dual-stack ::, link-local, ::1', () => {
    expect(parseProcNetTcp(TCP6_LE, 6, 'LE')).toEqual(EXPECTED_TCP6);
  });

  it('reads the same sockets from a big-endian kernel', () => {
    expect(parseProcNetTcp(TCP_BE, 4, 'BE')).toEqual(EXPECTED_TCP);
    expect(parseProcNetTcp(TCP6_BE, 6, 'BE')).toEqual(EXPECTED_TCP6);
  });

  it('reads words in the given byte order, not the host one', () => {
    const row = '   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 7';
    expect(parseProcNetTcp(row, 4, 'LE')[0]?.address).toBe('127.0.0.1');
    expect(parseProcNetTcp(row, 4, 'BE')[0]?.address).toBe('1.0.0.127');
  });

  it('ignores malformed lines and keeps the good ones around them', () => {
    const good =
      '   9: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 77 1';
    const text = [
      'garbage',
      '',
      '   1: 0100007F:0BB 00000000:0000 0A 00000000:00000000', // port one digit short
      '   2: 0100007G:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 1', // not hex
      '   3: 0100007F:0BB8 00000000:0000', // truncated before the state
      '   4: 0100007F:0BB8 00000000:0000 0AB 00000000:00000000', // state too long
      '   5 0100007F:0BB8 00000000:0000 0A 00000000:00000000', // no colon after sl
      '   6: 00000000000000000000000001000000:8BC9 00000000000000000000000000000000:0000 0A 0 0 0 1000 0 1', // IPv6 row in the IPv4 table
      good,
    ].join('\n');
    expect(parseProcNetTcp(text, 4, 'LE')).toEqual([
      { address: '127.0.0.1', port: 3000, inode: 77, uid: 1000 },
    ]);
  });

  it('keeps a LISTEN row whose tail is damaged, with owner and inode unknown', () => {
    const row = '   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000';
    expect(parseProcNetTcp(row, 4, 'LE')).toEqual([{ address: '127.0.0.1', port: 3000, inode: 0, uid: -1 }]);
  });

  it('reads a last row without a newline and sl numbers wider than four digits', () => {
    const row =
      '12345: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 99 1';
    expect(parseProcNetTcp(row, 4, 'LE')).toEqual([{ address: '0.0.0.0', port: 8080, inode: 99, uid: 1000 }]);
  });

  it('returns nothing for an empty table', () => {
    expect(parseProcNetTcp('', 4)).toEqual([]);
    expect(parseProcNetTcp(TCP6_LE.split('\n')[0] ?? '', 6)).toEqual([]);
  });
});

describe('readListeners', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-procnet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads both tables', async () => {
    const files = { tcp: file('tcp', HOST_TCP), tcp6: file('tcp6', HOST_TCP6) };
    expect(readListeners(files)).toEqual([...EXPECTED_TCP, ...EXPECTED_TCP6]);
    expect(await readListenersAsync(files)).toEqual([...EXPECTED_TCP, ...EXPECTED_TCP6]);
  });

  it('returns null when the IPv4 table is missing (not Linux)', async () => {
    const files = { tcp: join(dir, 'absent'), tcp6: file('tcp6-only', HOST_TCP6) };
    expect(readListeners(files)).toBeNull();
    expect(await readListenersAsync(files)).toBeNull();
  });

  it('reads IPv4 only when the IPv6 table is missing (IPv6 disabled)', async () => {
    const files = { tcp: file('tcp-only', HOST_TCP), tcp6: join(dir, 'absent6') };
    expect(readListeners(files)?.map((listener) => listener.port)).toEqual([0xb381, 3000, 2024]);
    expect((await readListenersAsync(files))?.map((listener) => listener.port)).toEqual([0xb381, 3000, 2024]);
  });

  it('returns null when the IPv6 table exists but cannot be read: half a table would read as free', async () => {
    const unreadable = join(dir, 'tcp6-dir');
    mkdirSync(unreadable);
    const files = { tcp: file('tcp-again', HOST_TCP), tcp6: unreadable };
    expect(readListeners(files)).toBeNull();
    expect(await readListenersAsync(files)).toBeNull();
  });

  it('stops at the first row in another state, trusting the kernel to list listeners first', async () => {
    const [header, first, , , established] = HOST_TCP.split('\n');
    const late =
      '   5: 00000000:2710 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 42 1';
    const files = {
      tcp: file('tcp-order', [header, first, established, late].join('\n')),
      tcp6: join(dir, 'none'),
    };
    expect(readListeners(files)?.map((listener) => listener.port)).toEqual([0xb381]);
    expect((await readListenersAsync(files))?.map((listener) => listener.port)).toEqual([0xb381]);
  });

  it('reads a table longer than one read', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) =>
      `${String(i).padStart(4)}: ${HOST_LOOPBACK_HEX}:${(10000 + i).toString(16).toUpperCase()} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 ${i} 1`.padEnd(
        149,
      ),
    );
    const files = {
      tcp: file('tcp-long', `${HOST_TCP.split('\n')[0]}\n${rows.join('\n')}\n`),
      tcp6: join(dir, 'none'),
    };
    expect(readListeners(files)).toHaveLength(2000);
    expect((await readListenersAsync(files))?.at(-1)).toEqual({
      address: '127.0.0.1',
      port: 11999,
      inode: 1999,
      uid: 1000,
    });
  });
});
