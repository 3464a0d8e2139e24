/**
 * One batch's commit: a single etcd transaction.
 *
 * Compares, which make the batch's reads hold at commit time:
 * - every key the batch changes is still at the mod revision it read, and every key it
 *   creates still absent (a port's key: SQLite's UNIQUE index; a lease whose etcd lease
 *   expired meanwhile is neither brought back nor deleted twice);
 * - the revision key of every checkout whose leases or remembered ports it read has not
 *   moved (a checkout's leases are planned together: a lease made meanwhile in a
 *   checkout it planned would not be seen by a per-key compare).
 * Ports it saw taken in a range are not compared: a port freed meanwhile only means the
 * batch passed over a free port, as it would have a moment earlier.
 *
 * Operations: the batch's puts and deletes, the revision keys of the checkouts it wrote,
 * and the host's record once per process. Every value
 * carries the commit's token. On failure the transaction reads back every key it
 * compared: what changed (to wait for before planning again), and whether an earlier
 * send of this very commit applied.
 */
import type { ICompare, IRequestOp, ITxnRequest } from 'etcd3';
import type { KeySpace } from './keys.js';
import { encodeItem } from './mirror.js';
import type { Change } from './tx.js';

/**
 * Writes a batch may gather before it is committed: etcd refuses a transaction of more
 * than `--max-txn-ops` operations or compares (128 by default); a few are the commit's own.
 */
export const COMMIT_OPS_BUDGET = 100;

/** A commit ready to send. */
export interface Commit {
  /** Written into every value: names this commit, so a resend can tell it applied. */
  token: string;
  /** Whether some put is attached to this process's etcd lease. */
  attached: boolean;
  /** The keys the failure branch reads back, in its order, with what this commit leaves there. */
  readBack: { key: string; put: boolean; ours: boolean }[];
  /** The transaction, with `lease` the process's etcd lease id (when `attached`). */
  request(lease: string | null): ITxnRequest;
}

/** What a commit is built from. */
export interface CommitInput {
  keys: KeySpace;
  changes: readonly Change[];
  /** Revision keys of the checkouts read and written, with the mod revision read (`null`: absent). */
  scopes: ReadonlyMap<string, { mod: number | null; written: boolean }>;
  token: string;
  now: number;
  /** Write the host's record (where other hosts reach it); `null` to skip. */
  hostRecord: { address: string | null } | null;
}

const key = (k: string) => Buffer.from(k);

function compareAt(k: string, mod: number | null): ICompare {
  return mod === null
    ? { key: key(k), target: 'Version', result: 'Equal', version: 0 }
    : { key: key(k), target: 'Mod', result: 'Equal', mod_revision: mod };
}

/**
 * Builds the transaction of a batch.
 *
 * @example
 * const commit = buildCommit({ keys, changes, scopes, token, now: Date.now(), hostRecord: null });
 * await client.kv.txn(commit.request(leaseId));
 */
export function buildCommit(input: CommitInput): Commit {
  const { keys, changes, scopes, token } = input;
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
  const attached = changes.some((c) => c.after?.t === 'lease' && c.after.attached);
  return {
    token,
    attached,
    readBack,
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
      for (const [k, { written }] of scopes) {
        if (written)
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
      const failure: IRequestOp[] = readBack.map(({ key: k }) => ({ request_range: { key: key(k) } }));
      return { compare, success, failure };
    },
  };
}
