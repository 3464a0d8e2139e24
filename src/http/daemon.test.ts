import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reserveBlock } from '../../test/helpers.js';
import { isBerthError } from '../errors.js';
import { checkExposure, type Daemon, isLoopbackHost, startDaemon } from './daemon.js';
import { findRunningDaemon, readDaemonFile } from './daemon-file.js';

let home: string | null = null;
let daemon: Daemon | null = null;

afterEach(async () => {
  await daemon?.close();
  daemon = null;
  if (home) rmSync(home, { recursive: true, force: true });
  home = null;
});

describe('isLoopbackHost and checkExposure', () => {
  it('knows loopback names and refuses anything else without unsafeExpose', () => {
    expect(['localhost', '127.0.0.1', '127.0.0.2', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.5', 'example.com'].some(isLoopbackHost)).toBe(false);
    expect(() => checkExposure('0.0.0.0', false)).toThrow(/--unsafe-expose/);
    expect(() => checkExposure('0.0.0.0', true)).not.toThrow();
    expect(() => checkExposure(undefined, false)).not.toThrow();
  });
});

describe('startDaemon', () => {
  it('leases a port, binds the given loopback address, answers its Host, writes daemon.json, and undoes it all on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-daemon-'));
    home = dir;
    // A leased test port: the default 4949 may be taken on the machine that runs the tests.
    const [port] = await reserveBlock(1);
    daemon = await startDaemon({ home: dir, host: '127.0.0.2', port, proxyPort: null });
    expect(daemon.port).toBe(port);
    expect(daemon.addresses).toEqual(['127.0.0.2']);
    expect(daemon.url).toBe(`http://127.0.0.2:${port}/`);
    expect(readDaemonFile(dir)).toEqual({
      pid: process.pid,
      port: daemon.port,
      url: daemon.url,
      proxyPort: null,
    });
    const token = readFileSync(join(dir, 'token'), 'utf8').trim();
    expect(daemon.tokenUrl).toBe(`${daemon.url}?token=${token}`);
    expect(await findRunningDaemon(dir, token)).toEqual(readDaemonFile(dir));
    expect(await findRunningDaemon(dir, 'f'.repeat(64))).toBeNull();
    await daemon.close();
    daemon = null;
    expect(existsSync(join(dir, 'daemon.json'))).toBe(false);
    expect(await findRunningDaemon(dir, token)).toBeNull();
  });

  it('refuses a non-loopback host before leasing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-daemon-'));
    home = dir;
    const error = await startDaemon({ home: dir, host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_USAGE')).toBe(true);
    expect(existsSync(join(dir, 'daemon.json'))).toBe(false);
  });
});
