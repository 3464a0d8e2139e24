/**
 * A request too large for one etcd transaction, committed in parts under the host's fence
 * (fence.ts): how its changes are cut into parts that each fit etcd's default bound, and
 * what to do when a part's compares fail although the fence stood. Pure: no etcd here.
 */
import { commitCost, MAX_TXN_OPS, type ScopeCheck } from './commit.js';
import type { Seen } from './send.js';
import type { Change } from './tx.js';

/** One part: some of the request's key changes and checkout keys. */
export interface Part {
  changes: Change[];
  scopes: Map<string, ScopeCheck>;
}

/** The cost of `part` as it will be sent: the fence compared, and on the last part deleted with the host's record. */
export function partCost(part: Part, last: boolean): number {
  return commitCost({
    changes: part.changes.length,
    scopes: part.scopes.size,
    written: [...part.scopes.values()].filter((s) => s.written).length,
    hostRecord: last,
    fenceOp: last,
  });
}

/**
 * Cuts a request's changes into parts of at most {@link MAX_TXN_OPS} compares and
 * operations each, counting the fence's compare in every part and, in the last, its
 * delete and the host's record. At least one part, possibly empty.
 *
 * @example
 * const parts = splitIntoParts(attempt.changes, attempt.scopes);
 */
export function splitIntoParts(changes: readonly Change[], scopes: ReadonlyMap<string, ScopeCheck>): Part[] {
  // Room for the last part's fence delete and host record in every part, so any part may be last.
  const room =
    MAX_TXN_OPS - commitCost({ changes: 0, scopes: 0, written: 0, hostRecord: true, fenceOp: true });
  const parts: Part[] = [{ changes: [], scopes: new Map() }];
  let used = 0;
  const place = (cost: number, put: (part: Part) => void) => {
    if (used + cost > room) {
      parts.push({ changes: [], scopes: new Map() });
      used = 0;
    }
    put(parts.at(-1)!);
    used += cost;
  };
  for (const change of changes) place(2, (part) => part.changes.push(change));
  for (const [key, check] of scopes) place(check.written ? 2 : 1, (part) => part.scopes.set(key, check));
  return parts;
}

/** What to do after a part's compares failed under the fence. */
export type Recovery = { resend: Part } | { abort: string };

/**
 * A part's compares failed although the fence stood: nothing of berth's wrote meanwhile,
 * so a key changed because its etcd lease expired (its keys go) or because something
 * other than berth wrote it. A delete whose key is gone, or an update of a key that is
 * gone, has nothing left to do (expiry only ever frees); the rest of the part is sent
 * again. Anything else (the fence itself gone or changed, a key that appeared or moved)
 * aborts.
 *
 * @example
 * const next = recoverPart(part, result.seen, fenceKey, fenceMod);
 */
export function recoverPart(part: Part, seen: Seen, fenceKey: string, fenceMod: number): Recovery {
  const now = new Map(seen.map(({ key, mod }) => [key, mod]));
  if (now.get(fenceKey) !== fenceMod) {
    return { abort: 'the fence of this process went (its etcd lease expired, or it was removed)' };
  }
  const changes: Change[] = [];
  for (const change of part.changes) {
    const mod = now.has(change.key) ? now.get(change.key)! : null;
    const expected = change.before ? change.before.mod : null;
    if (mod === expected) {
      changes.push(change);
      continue;
    }
    // Gone while the fence stood: its etcd lease expired. A delete is done; an update has nothing to update.
    if (mod === null && change.before !== undefined) continue;
    return { abort: `${change.key} changed while the host was fenced (something other than berth wrote it)` };
  }
  for (const [key, check] of part.scopes) {
    const mod = now.has(key) ? now.get(key)! : null;
    if (mod !== check.mod) return { abort: `${key} changed while the host was fenced` };
  }
  return { resend: { changes, scopes: part.scopes } };
}
