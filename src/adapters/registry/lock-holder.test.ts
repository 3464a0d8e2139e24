import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { childProcesses } from '../../../test/support/children.js';
import {
  describeWriteLockHolder,
  parseProcLocks,
  WAL_WRITE_LOCK_BYTE,
  writeLockHolderPid,
} from './lock-holder.js';

const children = childProcesses();
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

describe('parseProcLocks', () => {
  it('reads POSIX, OFD and flock lines and skips waiters and garbage', () => {
    const text = [
      '1: POSIX  ADVISORY  WRITE 4242 fe:00:2146400 120 120',
      '2: POSIX  ADVISORY  READ 4242 fe:00:2146400 124 124',
      '2: -> POSIX  ADVISORY  WRITE 4343 fe:00:2146400 120 120',
      '3: OFDLCK ADVISORY  READ -1 00:06:9012 0 EOF',
      '4: FLOCK  ADVISORY  WRITE 77 08:01:123 0 EOF',
      'not a lock line',
      '',
    ].join('\n');
    expect(parseProcLocks(text)).toEqual([
      { kind: 'POSIX', mode: 'WRITE', pid: 4242, inode: 2146400, start: 120, end: 120 },
      { kind: 'POSIX', mode: 'READ', pid: 4242, inode: 2146400, start: 124, end: 124 },
      { kind: 'OFDLCK', mode: 'READ', pid: -1, inode: 9012, start: 0, end: Number.POSITIVE_INFINITY },
      { kind: 'FLOCK', mode: 'WRITE', pid: 77, inode: 123, start: 0, end: Number.POSITIVE_INFINITY },
    ]);
  });

  it('names no holder when only readers or other files hold locks', () => {
    expect(writeLockHolderPid('/nonexistent/registry.db', [])).toBeNull();
  });
});

describe.runIf(process.platform === 'linux')('the holder of a real registry', () => {
  it('names the process that holds the write lock, with its command line', async () => {
    const home = mkdtempSync(join(tmpdir(), 'berth-holder-'));
    homes.push(home);
    const db = join(home, 'registry.db');
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const script = `const D = require(${JSON.stringify(sqlite)}); const db = new D(${JSON.stringify(db)});
      db.pragma('journal_mode = WAL'); db.exec('CREATE TABLE IF NOT EXISTS t (x)');
      db.exec('BEGIN IMMEDIATE'); db.exec('INSERT INTO t VALUES (1)'); console.log('holding'); setInterval(() => {}, 1000);`;
    const child = children.start(['-e', script.replace(/\s+/g, ' '), 'hold-the-lock']);
    await once(createInterface({ input: child.stdout! }), 'line');
    expect(writeLockHolderPid(db)).toBe(child.pid);
    const described = describeWriteLockHolder(db);
    expect(described).toMatch(new RegExp(`^pid ${child.pid} \\(\\S*node -e .+\\)$`));
    // One line, and a long `node -e` script is cut short.
    expect(described).not.toContain('\n');
    expect(described!.length).toBeLessThan(140);
    expect(WAL_WRITE_LOCK_BYTE).toBe(120);
  });
});
