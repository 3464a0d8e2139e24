/**
 * The host's fence: how a request too large for one etcd transaction (a release of
 * thousands of leases, a config of dozens of services) is committed in parts, atomically
 * for every other berth process of the host.
 *
 * Every plain commit compares the fence key absent (commit.ts). A process with a large
 * request first puts the fence (compared absent: one holder at a time), attached to its
 * etcd lease so that it goes with a process that dies halfway; waits until its mirror
 * shows the fence (so it holds every commit made before it, and nobody of the host can
 * commit after it); runs the request again against that frozen mirror; and commits the
 * changes in parts that each compare the fence's value, the last one deleting it. Other
 * processes' commits fail on the fence, wait for it to go and plan again; their
 * transactions, read-only ones too, wait for it before they start. Readers of the mirror
 * outside a transaction may see the parts land one after another.
 */

import type { LeaseOwner } from '../../../core/types.js';
import { BerthError } from '../../../errors.js';
import { buildCommit, type ScopeCheck } from './commit.js';
import type { Follower } from './follow.js';
import type { KeySpace } from './keys.js';
import type { Mirror } from './mirror.js';
import { type Part, recoverPart, splitIntoParts } from './parts.js';
import { type SendResult, sendCommit } from './send.js';
import type { EtcdSession } from './session.js';
import type { Change } from './tx.js';

/** How often a process waiting for another's fence looks whether its holder still lives, in milliseconds. */
const FENCE_LOOK_MS = 500;

/** Sends of one part that find keys gone (expired) before the part is given up. */
const MAX_PART_SENDS = 8;

/** What the fence needs of its registry. */
export interface FenceDeps {
  session: EtcdSession;
  keys: KeySpace;
  mirror: Mirror;
  follower: Follower;
  url: string;
  /** This process (the fence names it, so others can tell it died). */
  self: LeaseOwner;
  /** Whether a process of this host lives (a dead holder's fence is lifted at once). */
  isAlive: (owner: LeaseOwner) => boolean;
  /** A fresh commit token. */
  token: () => string;
  now: () => number;
}

/** Changes to commit in parts, and whether the last part writes the host's record. */
export interface Committable {
  changes: readonly Change[];
  scopes: ReadonlyMap<string, ScopeCheck>;
}

/** The host's fence of one registry. */
export class HostFence {
  /** The value of the fence this process holds now, if any. */
  private held: { value: string; mod: number } | null = null;

  constructor(private readonly deps: FenceDeps) {}

  /**
   * Waits until no other process's fence stands (lifting the fence of a holder that died),
   * until `deadline` (epoch ms): then `E_REGISTRY`.
   */
  async clear(deadline: number): Promise<void> {
    const { mirror, keys, follower } = this.deps;
    for (;;) {
      const fence = mirror.get(keys.fence);
      if (fence?.t !== 'fence' || fence.value === this.held?.value) return;
      if (Date.now() > deadline) {
        throw new BerthError(
          'E_REGISTRY',
          `the etcd registry ${this.deps.url}: host ${keys.host} stayed fenced by pid ${fence.pid} (a large commit in parts) for too long. Try again; if pid ${fence.pid} hangs, stop it.`,
          { data: { registry: this.deps.url, pid: fence.pid } },
        );
      }
      if (!this.deps.isAlive({ pid: fence.pid, startTime: fence.startTime })) {
        // Killed halfway: the part it committed stays (the next allocation reclaims its leases).
        await this.lift(fence.value).catch(() => {});
      }
      const mod = fence.mod;
      await Promise.race([
        follower.until(() => mirror.get(keys.fence)?.mod !== mod),
        new Promise((resolve) => setTimeout(resolve, FENCE_LOOK_MS)),
      ]);
    }
  }

  /**
   * Commits `run()`'s changes under the fence: takes it, runs `run` against the frozen
   * mirror, commits in parts, lifts it. Returns what `run` returned.
   */
  async commitInParts<T extends Committable>(
    run: () => T,
    deadline: number,
    hostRecord: { address: string | null } | null,
  ): Promise<T> {
    await this.take(deadline);
    try {
      const done = run();
      const parts = splitIntoParts(done.changes, done.scopes);
      for (const [i, part] of parts.entries()) {
        await this.sendPart(part, i === parts.length - 1 ? { hostRecord } : null);
      }
      const { value } = this.held!;
      this.held = null;
      // Read your writes: the last part lifted the fence, so the mirror has every part once it shows that.
      const { mirror, keys, follower } = this.deps;
      await follower
        .until(() => {
          const shown = mirror.get(keys.fence);
          return shown?.t !== 'fence' || shown.value !== value;
        })
        .catch(() => {});
      return done;
    } catch (error) {
      await this.release().catch(() => {});
      throw error;
    }
  }

  /** Puts the fence (waiting for another's to go), and waits until the mirror shows it. */
  private async take(deadline: number): Promise<void> {
    const { keys, mirror, follower, self } = this.deps;
    for (;;) {
      await this.clear(deadline);
      const token = this.deps.token();
      const value = JSON.stringify({ t: token, pid: self.pid, start: self.startTime, at: this.deps.now() });
      const result = await this.send({ changes: [], scopes: new Map() }, token, { step: 'open', value });
      if (result.ok) {
        // Every commit of the host before the fence is in the mirror once the fence is.
        await follower.until(() => mirror.get(keys.fence)?.token === token);
        const shown = mirror.get(keys.fence);
        if (shown?.token !== token) throw this.lost('the fence did not show in time');
        this.held = { value, mod: shown.mod };
        return;
      }
      const seen = result.seen;
      await follower.until(() =>
        seen.every(({ key, mod }) => (mod === null ? true : (mirror.get(key)?.mod ?? 0) >= mod)),
      );
    }
  }

  /** Sends one part (resending what is left after keys expired); the last part lifts the fence. */
  private async sendPart(
    first: Part,
    last: { hostRecord: { address: string | null } | null } | null,
  ): Promise<void> {
    const held = this.held!;
    let part = first;
    for (let send = 0; send < MAX_PART_SENDS; send++) {
      // A middle part whose every change turned out done needs no send.
      if (last === null && part.changes.length === 0 && part.scopes.size === 0) return;
      const step = last === null ? 'hold' : 'close';
      const result = await this.send(
        part,
        this.deps.token(),
        { step, value: held.value },
        last?.hostRecord ?? null,
      );
      if (result.ok) return;
      const next = recoverPart(part, result.seen, this.deps.keys.fence, held.mod);
      if ('abort' in next) throw this.lost(next.abort);
      part = next.resend;
    }
    throw this.lost('keys kept changing under the fence');
  }

  private send(
    part: Part,
    token: string,
    fence: { step: 'open' | 'hold' | 'close'; value: string },
    hostRecord: { address: string | null } | null = null,
  ): Promise<SendResult> {
    const { session, keys, url } = this.deps;
    const commit = buildCommit({
      keys,
      changes: part.changes,
      scopes: part.scopes,
      token,
      now: this.deps.now(),
      hostRecord,
      fence,
    });
    return sendCommit(session, keys, url, commit);
  }

  /** Lifts this process's fence, if it holds one. */
  private async release(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (held) await this.lift(held.value);
  }

  /** Deletes the fence if it still has `value`. */
  private async lift(value: string): Promise<void> {
    const { session, keys } = this.deps;
    await session.call('lift the fence', (options) =>
      session.client.kv.txn(
        {
          compare: [
            { key: Buffer.from(keys.fence), target: 'Value', result: 'Equal', value: Buffer.from(value) },
          ],
          success: [{ request_delete_range: { key: Buffer.from(keys.fence) } }],
          failure: [],
        },
        options,
      ),
    );
  }

  private lost(why: string): BerthError {
    return new BerthError(
      'E_REGISTRY',
      `the etcd registry ${this.deps.url}: a commit in parts was interrupted (${why}); part of it may have applied. Check with \`berth ls\`, then run the command again.`,
      { data: { registry: this.deps.url } },
    );
  }
}
