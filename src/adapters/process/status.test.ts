import { describe, expect, it } from 'vitest';
import { parseStatusUid, readProcessUid } from './status.js';

const STATUS = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4055
Pid:\t4055
PPid:\t4048
Uid:\t1000\t0\t0\t0
Gid:\t1000\t1000\t1000\t1000
`;

describe('parseStatusUid', () => {
  it('returns the real uid, the first of the Uid: line (a setuid process still belongs to who started it)', () => {
    expect(parseStatusUid(STATUS)).toBe(1000);
  });

  it('returns null without a Uid: line', () => {
    expect(parseStatusUid('Name:\tnode\nGid:\t0\t0\t0\t0\n')).toBeNull();
  });
});

describe.runIf(process.platform === 'linux')('readProcessUid on Linux', () => {
  it('reads the uid of the current process', () => {
    expect(readProcessUid(process.pid)).toBe(process.getuid?.());
  });

  it('returns null for a pid that does not exist', () => {
    expect(readProcessUid(2 ** 23)).toBeNull();
  });
});
