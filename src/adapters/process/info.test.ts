import { once } from 'node:events';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { childProcesses } from '../../../test/support/children.js';
import {
  CLOCK_TICKS_PER_SECOND,
  parseBootTime,
  parseCmdline,
  parsePasswd,
  processInfo,
  startedAtFromTicks,
} from './info.js';

const BOOT_TIME_SLACK_MS = 3_000;

describe('parseCmdline', () => {
  it('joins NUL-separated arguments with spaces', () => {
    expect(parseCmdline('/usr/bin/node\0server.js\0--port\x003000\0')).toBe(
      '/usr/bin/node server.js --port 3000',
    );
  });

  it('keeps a command line a process rewrote into one string (no NULs)', () => {
    expect(parseCmdline('nginx: master process /usr/sbin/nginx')).toBe(
      'nginx: master process /usr/sbin/nginx',
    );
  });

  it('drops empty arguments and gives an empty line for kernel threads', () => {
    expect(parseCmdline('a\0\0b\0')).toBe('a b');
    expect(parseCmdline('')).toBe('');
  });
});

describe('parsePasswd', () => {
  const PASSWD = [
    '# /etc/passwd',
    'root:x:0:0:root:/root:/bin/bash',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    '',
    'ada:x:1000:1000:Ada Lovelace,,,:/home/ada:/bin/zsh',
    'alias:x:1000:1000::/home/alias:/bin/sh',
    'broken:x:notanumber:0::/:/bin/sh',
    'short:x:7',
    '+@netgroup::::::',
  ].join('\n');

  it('maps uids to login names, the first entry of a uid winning as in getpwuid', () => {
    expect(parsePasswd(PASSWD)).toEqual(
      new Map([
        [0, 'root'],
        [1, 'daemon'],
        [1000, 'ada'],
      ]),
    );
  });
});

describe('parseBootTime and startedAtFromTicks', () => {
  it('reads btime from /proc/stat as epoch milliseconds', () => {
    expect(parseBootTime('cpu  10 0 5 100\ncpu0 10 0 5 100\nbtime 1700000000\nprocesses 42\n')).toBe(
      1_700_000_000_000,
    );
    expect(parseBootTime('cpu  10 0 5 100\n')).toBeNull();
  });

  it('adds start ticks at USER_HZ (100 per second) to the boot time', () => {
    expect(CLOCK_TICKS_PER_SECOND).toBe(100);
    expect(startedAtFromTicks(1_700_000_000_000, '12345')).toBe(1_700_000_123_450);
    expect(startedAtFromTicks(1_700_000_000_000, '0')).toBe(1_700_000_000_000);
  });
});

describe.runIf(process.platform === 'linux')('processInfo on Linux', () => {
  const children = childProcesses();

  it('describes a child: user, uid, full node command line, start time', async () => {
    const before = Date.now();
    const child = children.start([
      '-e',
      "console.log('ready'); setInterval(() => {}, 1000);",
      'berth-info-test',
    ]);
    await once(createInterface({ input: child.stdout! }), 'line');
    const info = processInfo(child.pid!);
    expect(info).toMatchObject({ pid: child.pid, uid: process.getuid?.(), user: userInfo().username });
    expect(info?.command).toContain('node');
    expect(info?.command).toContain('berth-info-test');
    // btime has one-second resolution; a wrong tick rate would be off by far more than this slack.
    expect(info?.startedAt).toBeGreaterThanOrEqual(before - BOOT_TIME_SLACK_MS);
    expect(info?.startedAt).toBeLessThanOrEqual(Date.now() + BOOT_TIME_SLACK_MS);
  });

  it('returns null for a pid that does not exist', () => {
    expect(processInfo(2 ** 23)).toBeNull();
  });
});
