import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_QUEUE_DIR, lockQueueDir } from './queue-dir.js';

const made: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-queue-dir-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')('lockQueueDir on Linux', () => {
  const uid = process.getuid!();

  it('puts the tickets in a folder of the shared memory that only this user may enter, one per registry', () => {
    const shared = temp();
    const a = join(temp(), 'registry.db');
    const b = join(temp(), 'registry.db');
    const dirA = lockQueueDir(a, shared);
    expect(dirname(dirA)).toBe(join(shared, `berth-${uid}`));
    expect(lockQueueDir(a, shared)).toBe(dirA);
    expect(lockQueueDir(b, shared)).not.toBe(dirA);
  });

  it('finds one folder for one registry reached through a symlink', () => {
    const shared = temp();
    const home = temp();
    const link = join(temp(), 'link');
    symlinkSync(home, link);
    expect(lockQueueDir(join(link, 'registry.db'), shared)).toBe(
      lockQueueDir(join(home, 'registry.db'), shared),
    );
  });

  it('stays beside the registry when the shared folder could be entered by others or is not a folder', () => {
    const registry = join(temp(), 'registry.db');
    const beside = join(dirname(registry), LOCK_QUEUE_DIR);
    const open = temp();
    mkdirSync(join(open, `berth-${uid}`));
    chmodSync(join(open, `berth-${uid}`), 0o755);
    expect(lockQueueDir(registry, open)).toBe(beside);
    const linked = temp();
    symlinkSync(temp(), join(linked, `berth-${uid}`));
    expect(lockQueueDir(registry, linked)).toBe(beside);
    expect(lockQueueDir(registry, join(temp(), 'missing', 'deeper'))).toBe(beside);
  });
});
