/**
 * One commit: a single etcd transaction, never larger than etcd's default bound.
 *
 * Compares, which make the batch's reads hold at commit time:
 * - every key the commit changes is still at the mod revision it read, and every key it
 *   creates still absent (a port's key: SQLite's UNIQUE index; a lease whose etcd lease
 *   expired meanwhile is neither brought back nor deleted twice);
 * - the revision key of every checkout whose leases or remembered ports it read has not
 *   moved (a checkout's leases are planned together: a lease made meanwhile in a
 *   checkout it planned would not be seen by a per-key compare);
 * - the host's fence: absent for a plain commit; ours, for the parts of a request too
 *   large for one transaction (docs/design/etcd-registry.md, "Commits within etcd's
 *   defaults").
 * Ports it saw taken in a range are not compared: a port freed meanwhile only means the
 * batch passed over a free port, as it would have a moment earlier.
 *
 * Operations: the puts and deletes, the revision keys of the checkouts it wrote, the
 * host's record once per process, and the fence's put or delete. Every value carries the
 * commit's token. On failure the transaction reads back every key it compared: what
 * changed (to wait for before planning again), and whether an earlier send of this very
 * commit applied.
 */
import type { ICompare, IRequestOp, ITxnRequest } from 'etcd3';
import type { KeySpace } from './keys.js';
import { encodeItem } from './mirror.js';
import type { Change } from './tx.js';

/**
 * Operations plus compares one commit may carry: etcd's default `--max-txn-ops` (128).
 * etcd bounds each of a transaction's three lists by it; berth bounds their sum of
 * compares and operations, and the failure branch reads back one key per compare.
 */
export const MAX_TXN_OPS = 128;

/**
 * The host's fence in one commit: `absent` (a plain commit: no fence may stand), or one
 * step of a request committed in parts: `open` (puts the fence), `hold` (compares it),
 * `close` (compares and deletes it). `value` is the fence's stored value.
 */
export type FenceStep = { step: 'absent' } | { step: 'open' | 'hold' | 'close'; value: string };

/** A checkout's revision key in a commit: compared at `mod` (`null`: absent), and written when `written`. */
export interface ScopeCheck {
  mod: number | null;
  written: boolean;
}

/** A commit ready to send. */
export interface Commit {
  /** Written into every value: names this commit, so a resend can tell it applied. */
  token: string;
  /** Whether some put is attached to this process's etcd lease. */
  attached: boolean;
  /** The keys the failure branch reads back, in its order, with what this commit leaves there. */
  readBack: { key: string; put: boolean; ours: boolean }[];
  /** Compares plus operations of the transaction (at most {@link MAX_TXN_OPS}). */
  cost: number;
  /** The transaction, with `lease` the process's etcd lease id (when `attached`). */
  request(lease: string | null): ITxnRequest;
}

/** What a commit is built from. */
export interface CommitInput {
  keys: KeySpace;
  changes: readonly Change[];
  /** Revision keys of the checkouts read and written. */
  scopes: ReadonlyMap<string, ScopeCheck>;
  token: string;
  now: number;
  /** Write the host's record (where other hosts reach it); `null` to skip. */
  hostRecord: { address: string | null } | null;
  /** The fence step; default `absent`. */
  fence?: FenceStep;
}

/**
 * Compares plus operations of a commit of `changes` key changes, `scopes` checkouts read
 * (of which `written` are written), with or without the host's record and a fence put or
 * delete: what {@link buildCommit} will send.
 */
export function commitCost(parts: {
  changes: number;
  scopes: number;
  written: number;
  hostRecord: boolean;
  fenceOp: boolean;
}): number {
  const compares = parts.changes + parts.scopes + 1;
  const ops = parts.changes + parts.written + (parts.hostRecord ? 1 : 0) + (parts.fenceOp ? 1 : 0);
  return compares + ops;
}

const key = (k: string) => Buffer.from(k);

function compareAt(k: string, mod: number | null): ICompare {
  return mod === null
    ? { key: key(k), target: 'Version', result: 'Equal', version: 0 }
    : { key: key(k), target: 'Mod', result: 'Equal', mod_revision: mod };
}

/**
 * Builds the transaction of a commit. Throws when it would exceed {@link MAX_TXN_OPS}:
 * the callers split before they get here.
 *
 * @example
 * const commit = buildCommit({ keys, changes, scopes, token, now: Date.now(), hostRecord: null });
 * await client.kv.txn(commit.request(leaseId));
 */
export function buildCommit(input: CommitInput): Commit {
  const { keys, changes, scopes, token } = input;
  const fence = input.fence ?? { step: 'absent' };
  const compare: ICompare[] = [];
  const readBack: Commit['readBack'] = [];
  for (const { key: k, before, after } of changes) {
    compare.push(compareAt(k, before ? before.mod : null));
    readBack.push({ key: k, put: after !== undefined, ours: true });
  }
  for (const [k, { mod, written }] of scopes) {
    compare.push(compareAt(k, mod));
    readBack.push({ key: k, put: written, ours: written });
  }
  if (fence.step === 'absent' || fence.step === 'open') {
    compare.push(compareAt(keys.fence, null));
  } else {
    compare.push({ key: key(keys.fence), target: 'Value', result: 'Equal', value: Buffer.from(fence.value) });
  }
  // Only the fence's own put or delete tells of this commit; holding it tells nothing.
  readBack.push({
    key: keys.fence,
    put: fence.step === 'open' || fence.step === 'hold',
    ours: fence.step === 'open' || fence.step === 'close',
  });
  const written = [...scopes.values()].filter((s) => s.written).length;
  const cost = commitCost({
    changes: changes.length,
    scopes: scopes.size,
    written,
    hostRecord: input.hostRecord !== null,
    fenceOp: fence.step === 'open' || fence.step === 'close',
  });
  if (cost > MAX_TXN_OPS) {
    throw new Error(`a commit of ${cost} operations and compares exceeds etcd's ${MAX_TXN_OPS}`);
  }
  const attached = fence.step === 'open' || changes.some((c) => c.after?.t === 'lease' && c.after.attached);
  return {
    token,
    attached,
    readBack,
    cost,
    request: (lease) => {
      const success: IRequestOp[] = changes.map(({ key: k, after }) =>
        after === undefined
          ? { request_delete_range: { key: key(k) } }
          : {
              request_put: {
                key: key(k),
                value: Buffer.from(encodeItem(after, token)),
                lease: after.t === 'lease' && after.attached && lease !== null ? lease : 0,
              },
            },
      );
      for (const [k, { written: w }] of scopes) {
        if (w)
          success.push({
            request_put: { key: key(k), value: Buffer.from(encodeItem({ t: 'scope', mod: 0 }, token)) },
          });
      }
      if (input.hostRecord) {
        success.push({
          request_put: {
            key: key(keys.hostRecord),
            value: Buffer.from(JSON.stringify({ address: input.hostRecord.address, updated_at: input.now })),
          },
        });
      }
      // The fence goes with this process's etcd lease: a process that dies halfway does not hold the host.
      if (fence.step === 'open') {
        success.push({
          request_put: { key: key(keys.fence), value: Buffer.from(fence.value), lease: lease ?? 0 },
        });
      } else if (fence.step === 'close') {
        success.push({ request_delete_range: { key: key(keys.fence) } });
      }
      const failure: IRequestOp[] = readBack.map(({ key: k }) => ({ request_range: { key: key(k) } }));
      return { compare, success, failure };
    },
  };
}
