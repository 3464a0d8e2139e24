import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IP_LOCAL_PORT_RANGE_FILE, parseIpLocalPortRange, readEphemeralRange } from './ephemeral.js';

describe('parseIpLocalPortRange', () => {
  it('reads the kernel format, a tab between the ports', () => {
    expect(parseIpLocalPortRange('32768\t60999\n')).toEqual({ min: 32768, max: 60999 });
  });

  it('accepts spaces and a one-port range', () => {
    expect(parseIpLocalPortRange('  1024   65535 ')).toEqual({ min: 1024, max: 65535 });
    expect(parseIpLocalPortRange('40000\t40000\n')).toEqual({ min: 40000, max: 40000 });
  });

  it.each([
    ['', 'empty'],
    ['32768\n', 'one number'],
    ['32768\t60999\t1\n', 'three numbers'],
    ['60999\t32768\n', 'reversed'],
    ['0\t60999\n', 'port 0'],
    ['32768\t65536\n', 'above 65535'],
    ['32768\t6O999\n', 'a letter'],
    ['-1\t60999\n', 'negative'],
  ])('rejects %j (%s)', (text) => {
    expect(parseIpLocalPortRange(text)).toBeNull();
  });
});

describe('readEphemeralRange', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ephemeral-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the live range on Linux', () => {
    const file = join(dir, 'ip_local_port_range');
    writeFileSync(file, '20000\t29999\n');
    expect(readEphemeralRange('linux', file)).toEqual({ min: 20000, max: 29999 });
  });

  it('returns null on Linux when the file is unreadable or damaged', () => {
    expect(readEphemeralRange('linux', join(dir, 'absent'))).toBeNull();
    const file = join(dir, 'damaged');
    writeFileSync(file, 'nonsense\n');
    expect(readEphemeralRange('linux', file)).toBeNull();
  });

  it('uses each platform default elsewhere', () => {
    expect(readEphemeralRange('darwin')).toEqual({ min: 49152, max: 65535 });
    expect(readEphemeralRange('win32')).toEqual({ min: 49152, max: 65535 });
    expect(readEphemeralRange('freebsd')).toEqual({ min: 10000, max: 65535 });
    expect(readEphemeralRange('aix')).toBeNull();
  });

  it('matches this machine', () => {
    const range = readEphemeralRange();
    if (process.platform === 'linux') {
      expect(range).toEqual(parseIpLocalPortRange(readFileSync(IP_LOCAL_PORT_RANGE_FILE, 'latin1')));
      expect(range).not.toBeNull();
    } else {
      expect(range).toEqual(readEphemeralRange(process.platform));
    }
  });
});
