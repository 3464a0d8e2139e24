import { describe, expect, it } from 'vitest';
import { buildCommit, MAX_TXN_OPS, type ScopeCheck } from './commit.js';
import { KeySpace } from './keys.js';
import type { Item } from './mirror.js';
import { partCost, recoverPart, splitIntoParts } from './parts.js';
import type { Change } from './tx.js';

const keys = new KeySpace('t', 'a');
const scopeItem = (mod: number): Item => ({ t: 'scope', mod });

/** `n` changes: deletes of keys at mod 10 + i, and as many creations. */
function changes(n: number): Change[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? { key: `t/h/a/l/${i}`, before: scopeItem(10 + i), after: undefined }
      : { key: `t/h/a/l/${i}`, before: undefined, after: scopeItem(0) },
  );
}

describe('a commit', () => {
  it('counts its compares and operations as etcd will, fence and host record included', () => {
    const scopes = new Map<string, ScopeCheck>([
      ['t/h/a/sc/x', { mod: 3, written: true }],
      ['t/h/a/sc/y', { mod: null, written: false }],
    ]);
    for (const fence of [
      { step: 'absent' as const },
      { step: 'open' as const, value: '{}' },
      { step: 'hold' as const, value: '{}' },
      { step: 'close' as const, value: '{}' },
    ]) {
      for (const hostRecord of [null, { address: '10.0.0.1' }]) {
        const commit = buildCommit({
          keys,
          changes: changes(6),
          scopes,
          token: 'k',
          now: 1,
          hostRecord,
          fence,
        });
        const request = commit.request('7');
        const sent = request.compare!.length + request.success!.length;
        expect(commit.cost).toBe(sent);
        // The failure branch reads back one key per compare.
        expect(request.failure!.length).toBe(request.compare!.length);
      }
    }
  });

  it('refuses to build a transaction past etcd default bound', () => {
    const half = (MAX_TXN_OPS - 2) / 2;
    expect(
      buildCommit({
        keys,
        changes: changes(half),
        scopes: new Map(),
        token: 'k',
        now: 1,
        hostRecord: { address: null },
      }).cost,
    ).toBe(MAX_TXN_OPS);
    expect(() =>
      buildCommit({
        keys,
        changes: changes(half + 1),
        scopes: new Map(),
        token: 'k',
        now: 1,
        hostRecord: null,
      }),
    ).toThrow(/exceeds etcd/);
  });
});

describe('a request in parts', () => {
  it('cuts any number of changes into parts that each fit, the last with the fence delete and host record', () => {
    for (const n of [0, 1, 61, 62, 63, 500, 10_001]) {
      const scopes = new Map<string, ScopeCheck>(
        Array.from({ length: n % 7 }, (_, i) => [`t/h/a/sc/${i}`, { mod: i, written: i % 2 === 0 }]),
      );
      const parts = splitIntoParts(changes(n), scopes);
      expect(parts.flatMap((p) => p.changes)).toHaveLength(n);
      expect(parts.reduce((a, p) => a + p.scopes.size, 0)).toBe(scopes.size);
      for (const [i, part] of parts.entries()) {
        const last = i === parts.length - 1;
        expect(partCost(part, last)).toBeLessThanOrEqual(MAX_TXN_OPS);
        const commit = buildCommit({
          keys,
          changes: part.changes,
          scopes: part.scopes,
          token: 'k',
          now: 1,
          hostRecord: last ? { address: null } : null,
          fence: { step: last ? 'close' : 'hold', value: '{}' },
        });
        expect(commit.cost).toBe(partCost(part, last));
      }
      // No part is wasted: all but the last are nearly full.
      for (const part of parts.slice(0, -1)) expect(partCost(part, false)).toBeGreaterThan(MAX_TXN_OPS - 6);
    }
  });

  it('after a failed part: a delete of a key gone, or an update of a key gone, is done; anything else aborts', () => {
    const gone = { key: 'g', before: scopeItem(5), after: undefined };
    const updatedGone = { key: 'u', before: scopeItem(6), after: scopeItem(0) };
    const kept = { key: 'k', before: scopeItem(7), after: undefined };
    const part = { changes: [gone, updatedGone, kept], scopes: new Map<string, ScopeCheck>() };
    const fence = keys.fence;
    const next = recoverPart(
      part,
      [
        { key: 'g', mod: null },
        { key: 'u', mod: null },
        { key: 'k', mod: 7 },
        { key: fence, mod: 40 },
      ],
      fence,
      40,
    );
    expect(next).toEqual({ resend: { changes: [kept], scopes: part.scopes } });
    // A key that moved (something else wrote it) or a fence that went: abort.
    expect(
      recoverPart(
        part,
        [
          { key: 'k', mod: 8 },
          { key: fence, mod: 40 },
          { key: 'g', mod: 5 },
          { key: 'u', mod: 6 },
        ],
        fence,
        40,
      ),
    ).toMatchObject({
      abort: expect.stringContaining('changed'),
    });
    expect(recoverPart(part, [{ key: fence, mod: null }], fence, 40)).toMatchObject({
      abort: expect.stringContaining('fence'),
    });
    // A key to create that appeared meanwhile: abort.
    const create = { key: 'n', before: undefined, after: scopeItem(0) };
    expect(
      recoverPart(
        { changes: [create], scopes: new Map() },
        [
          { key: 'n', mod: 9 },
          { key: fence, mod: 40 },
        ],
        fence,
        40,
      ),
    ).toMatchObject({ abort: expect.any(String) });
  });
});
