/**
 * Sending one commit (commit.ts) to etcd: sent again while etcd does not answer (a member
 * down, a leader election), granted this process's etcd lease when it attaches keys,
 * and told apart when an earlier send applied and its answer was lost.
 */
import { BerthError } from '../../../errors.js';
import type { Commit } from './commit.js';
import { rawKv } from './follow.js';
import type { KeySpace } from './keys.js';
import { decodeItem } from './mirror.js';
import type { EtcdSession } from './session.js';

/** Keys as a commit's failure branch read them back: their mod revision, `null` when absent. */
export type Seen = { key: string; mod: number | null }[];

/** What a send came to: applied (at `revision`, 0 when an earlier send applied), or compares failed. */
export type SendResult = { ok: true; revision: number; seen?: Seen } | { ok: false; seen: Seen };

/**
 * Sends `commit` until it applies, its compares fail, or the session's timeout passes
 * (`E_REGISTRY`). At most one send applies: all compare the same revisions. When the
 * compares fail, what the failure branch read back tells whether an earlier send applied
 * (every value it puts carries its token; every key it deletes is gone).
 *
 * @example
 * const result = await sendCommit(session, keys, url, buildCommit(input));
 */
export async function sendCommit(
  session: EtcdSession,
  keys: KeySpace,
  url: string,
  commit: Commit,
): Promise<SendResult> {
  const deadline = Date.now() + session.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const lease = commit.attached ? await session.processLease(deadline) : null;
      const res = await session.call(
        'commit',
        (options) => session.client.kv.txn(commit.request(lease), options),
        deadline,
      );
      if (res.succeeded) return { ok: true, revision: Number(res.header.revision) };
      const seen = commit.readBack.map(({ key }, i) => {
        const kv = res.responses[i]?.response_range?.kvs[0];
        return { key, mod: kv ? Number(kv.mod_revision) : null, kv };
      });
      const ours = commit.readBack.every(({ put, ours: mine }, i) => {
        if (!mine) return true;
        const kv = seen[i]!.kv;
        if (!put) return kv === undefined;
        return kv !== undefined && decodeItem(keys, rawKv(kv))?.token === commit.token;
      });
      const plain = seen.map(({ key, mod }) => ({ key, mod }));
      // An earlier send of this very commit applied (its answer was lost): done.
      if (ours && commit.readBack.some((r) => r.ours)) return { ok: true, revision: 0, seen: plain };
      return { ok: false, seen: plain };
    } catch (error) {
      lastError = error;
      // The process's etcd lease expired (the process was cut off for longer than its TTL):
      // a new one is granted, and the commit sent again with it.
      if (!/lease not found|requested lease/i.test(String((error as Error)?.message))) throw error;
      session.forgetLease();
    }
  }
  throw lastError instanceof BerthError
    ? lastError
    : new BerthError(
        'E_REGISTRY',
        `the etcd registry ${url} did not answer within ${session.timeoutMs} ms. Check that a majority of its members is up, then try again.`,
      );
}
