/**
 * One batch's commit: a single etcd transaction.
 *
 * Compares: the host's revision key is still at the revision the batch read (so no
 * other transaction wrote the host's keys since: everything the batch read, a key
 * created meanwhile in a range it scanned included, is unchanged); every key the batch
 * overwrites is still at the revision it read (a lease whose etcd lease expired meanwhile
 * is not brought back); every key it creates is still absent.
 *
 * Operations: the batch's puts and deletes, the revision key (with the id counter and
 * this commit's token), the host's record once per process, and now and then a trim of
 * the event log. On failure the transaction reads the revision key back, to tell a
 * conflict from an earlier send of this same commit that applied.
 */
import type { ICompare, IRequestOp, ITxnRequest } from 'etcd3';
import type { KeySpace } from './keys.js';
import { encodeItem, type Item } from './mirror.js';
import type { Change } from './tx.js';

/**
 * Writes a batch may gather before it is committed: etcd refuses a transaction of more
 * than `--max-txn-ops` operations (128 by default); a few are the commit's own.
 */
export const COMMIT_OPS_BUDGET = 120;

/**
 * The event log keeps the events among the newest this many sequence numbers of the host
 * (ids of leases and events share the counter), so at most this many events.
 */
export const EVENT_SEQ_WINDOW = 20_000;

/** Trim the event log when the sequence counter crosses a multiple of this. */
const TRIM_EVERY = 256;

/** A commit ready to send. */
export interface Commit {
  /** Written into the revision key: names this commit, so a resend can tell it applied. */
  token: string;
  /** Whether some put is attached to this process's etcd lease. */
  attached: boolean;
  /** The transaction, with `lease` the process's etcd lease id (when `attached`). */
  request(lease: string | null): ITxnRequest;
}

/** What a commit is built from. */
export interface CommitInput {
  keys: KeySpace;
  changes: readonly Change[];
  /** The revision key as the batch read it (`null`: the host has none yet). */
  base: Extract<Item, { t: 'rev' }> | null;
  /** The id counter after the batch. */
  seq: number;
  token: string;
  now: number;
  /** Write the host's record (where other hosts reach it); `null` to skip. */
  hostRecord: { address: string | null } | null;
}

const key = (k: string) => Buffer.from(k);

/**
 * Builds the transaction of a batch.
 *
 * @example
 * const commit = buildCommit({ keys, changes, base: mirror.rev, seq, token, now: Date.now(), hostRecord: null });
 * await client.kv.txn(commit.request(leaseId));
 */
export function buildCommit(input: CommitInput): Commit {
  const { keys, changes, base, seq, token } = input;
  const compare: ICompare[] = [
    base
      ? { key: key(keys.rev), target: 'Mod', result: 'Equal', mod_revision: base.mod }
      : { key: key(keys.rev), target: 'Version', result: 'Equal', version: 0 },
  ];
  for (const { key: k, before, after } of changes) {
    if (after === undefined) continue;
    compare.push(
      before
        ? { key: key(k), target: 'Mod', result: 'Equal', mod_revision: before.mod }
        : { key: key(k), target: 'Version', result: 'Equal', version: 0 },
    );
  }
  const attached = changes.some((c) => c.after?.t === 'lease' && c.after.attached);
  const addsEvents = changes.some((c) => c.after?.t === 'ev');
  const fromSeq = base?.seq ?? 0;
  const trimTo = seq - EVENT_SEQ_WINDOW;
  const trim = addsEvents && trimTo > 0 && Math.floor(fromSeq / TRIM_EVERY) !== Math.floor(seq / TRIM_EVERY);
  return {
    token,
    attached,
    request: (lease) => {
      const success: IRequestOp[] = changes.map(({ key: k, after }) =>
        after === undefined
          ? { request_delete_range: { key: key(k) } }
          : {
              request_put: {
                key: key(k),
                value: Buffer.from(encodeItem(after)),
                lease: after.t === 'lease' && after.attached && lease !== null ? lease : 0,
              },
            },
      );
      success.push({
        request_put: {
          key: key(keys.rev),
          value: Buffer.from(encodeItem({ t: 'rev', seq, txn: token, mod: 0 })),
        },
      });
      if (input.hostRecord) {
        success.push({
          request_put: {
            key: key(keys.hostRecord),
            value: Buffer.from(JSON.stringify({ address: input.hostRecord.address, updated_at: input.now })),
          },
        });
      }
      if (trim) {
        success.push({
          request_delete_range: { key: key(keys.eventPrefix), range_end: key(keys.event(trimTo)) },
        });
      }
      return { compare, success, failure: [{ request_range: { key: key(keys.rev) } }] };
    },
  };
}
