import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateToken, TOKEN_FILE, tokensEqual } from './token.js';

let home: string;
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('loadOrCreateToken', () => {
  it('creates 256 random bits as hex in a 0600 file and reuses them', () => {
    home = mkdtempSync(join(tmpdir(), 'berth-token-'));
    const token = loadOrCreateToken(home);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(home, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateToken(home)).toBe(token);
  });

  it('tightens a loosened file and replaces a malformed one', () => {
    home = mkdtempSync(join(tmpdir(), 'berth-token-'));
    const token = loadOrCreateToken(home);
    chmodSync(join(home, TOKEN_FILE), 0o644);
    expect(loadOrCreateToken(home)).toBe(token);
    expect(statSync(join(home, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    writeFileSync(join(home, TOKEN_FILE), 'short');
    const fresh = loadOrCreateToken(home);
    expect(fresh).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(home, TOKEN_FILE), 'utf8').trim()).toBe(fresh);
    expect(statSync(join(home, TOKEN_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('tokensEqual', () => {
  it('is true only for the same bytes', () => {
    const real = Buffer.from('a'.repeat(64));
    expect(tokensEqual('a'.repeat(64), real)).toBe(true);
    expect(tokensEqual(`${'a'.repeat(63)}b`, real)).toBe(false);
    expect(tokensEqual('a'.repeat(63), real)).toBe(false);
    expect(tokensEqual('', real)).toBe(false);
  });
});
