/**
 * Keeping the mirror current: the load of a host's keys at one revision, the watch that
 * follows them from there (etcd3 resumes it across member restarts), and waiting until
 * the mirror shows what a commit wrote or read back. The watch stops after a while
 * without registry work, so a script whose work is done can exit (an open gRPC stream
 * keeps a Node process alive); the next read or transaction loads the mirror again.
 */
import type { IWatchResponse, Watcher } from 'etcd3';
import { type KeySpace, prefixEnd } from './keys.js';
import { decodeItem, type Mirror, type RawKv } from './mirror.js';
import type { EtcdSession } from './session.js';

/** Newest events loaded when the registry opens (the daemon replays these to a new dashboard). */
export const EVENTS_LOADED = 200;

/**
 * How long the watch may take to deliver what a commit wrote (or read back) before the
 * mirror is reloaded with a range read, in ms. Generous: under load the watch is late,
 * and a reload of every process at once is the most expensive answer to that.
 */
const CATCH_UP_MS = 3_000;

/**
 * A watch with no registry work for this long is cancelled, in milliseconds, so a
 * script whose work is done can exit (a gRPC stream keeps the process alive). The
 * next read or transaction resumes it from the mirror's revision.
 */
const WATCH_IDLE_MS = 2_000;

/** A stored key as etcd3 gives it, for decoding. */
export function rawKv(kv: {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
  lease: string;
}): RawKv {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    mod: Number(kv.mod_revision),
    created: Number(kv.create_revision),
    lease: kv.lease,
  };
}

/**
 * Keys per range read of a load, so that no answer nears grpc-js's 4 MiB limit on a
 * message: a lease's value is a few hundred bytes, a folder name at most a few KiB.
 */
export const LOAD_PAGE_KEYS = 500;

/** A key as a range read returns it. */
type StoredKv = Parameters<typeof rawKv>[0];

/**
 * Reads every key in [key, end) in pages of {@link LOAD_PAGE_KEYS}, all at one revision
 * (`revision`, or the first page's). Throws (`E_REGISTRY`) like any call, and etcd's
 * "compacted" error when that revision is compacted away meanwhile.
 *
 * @example
 * const { kvs, revision } = await readPaged(session, keys.leasePrefix, prefixEnd(keys.leasePrefix), null, 'read leases');
 */
export async function readPaged(
  session: EtcdSession,
  key: string,
  end: Buffer,
  revision: number | null,
  what = 'load its keys',
): Promise<{ kvs: StoredKv[]; revision: number }> {
  const kvs: StoredKv[] = [];
  let from = Buffer.from(key);
  let at = revision;
  for (;;) {
    const res = await session.call(what, (options) =>
      session.client.kv.range(
        { key: from, range_end: end, limit: LOAD_PAGE_KEYS, ...(at === null ? {} : { revision: at }) },
        options,
      ),
    );
    at ??= Number(res.header.revision);
    kvs.push(...res.kvs);
    const last = res.kvs.at(-1);
    if (!res.more || !last) return { kvs, revision: at };
    // The next page starts right after the last key read.
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/** Keeps one host's mirror current. */
export class Follower {
  private watcher: Watcher | null = null;
  /** Whether the watch is connected now (not starting, not reconnecting). */
  private watchConnected = false;
  /** A load in flight (at open, after an idle watch, after a slow one). */
  private loading: Promise<void> | null = null;
  private lastActivity = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Set<{ check: () => boolean; resolve: () => void }>();
  private closed = false;

  constructor(
    private readonly session: EtcdSession,
    private readonly keys: KeySpace,
    private readonly mirror: Mirror,
    private readonly now: () => number,
    /** Whether requests wait for a batch (no idle stop then), and a promise of the batch in flight. */
    private readonly idle: { busy: () => boolean; settled: () => Promise<void> },
  ) {}

  /** Whether the mirror may be stale: the watch was stopped (idle) or a load is under way. */
  async fresh(): Promise<void> {
    if (this.loading) await this.loading;
    else if (!this.watcher) await this.load();
  }

  /** Stops following: cancels the watch once `after` settles; wakes every waiter. */
  close(after: Promise<void>): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const watcher = this.watcher;
    this.watcher = null;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
    void after.finally(() => watcher?.cancel().catch(() => {}));
  }

  /** Loads this host's keys at one revision (the newest {@link EVENTS_LOADED} events only), then follows them. */
  load(): Promise<void> {
    this.loading ??= this.loadNow().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async loadNow(): Promise<void> {
    const k = this.keys;
    const old = this.watcher;
    this.watcher = null;
    void old?.cancel().catch(() => {});
    for (let tries = 1; ; tries++) {
      try {
        // Everything of the host but the event log, the newest events, and what sorts after the log.
        const first = await readPaged(this.session, k.hostPrefix, Buffer.from(k.eventPrefix), null);
        const [rest, newest] = await Promise.all([
          readPaged(
            this.session,
            prefixEnd(k.eventPrefix).toString(),
            prefixEnd(k.hostPrefix),
            first.revision,
          ),
          // The newest events at the same revision: the load is one state etcd had.
          this.session.call('load its keys', (options) =>
            this.session.client.kv.range(
              {
                key: Buffer.from(k.eventPrefix),
                range_end: prefixEnd(k.eventPrefix),
                sort_order: 'Descend',
                sort_target: 'Key',
                limit: EVENTS_LOADED,
                revision: first.revision,
              },
              options,
            ),
          ),
        ]);
        this.mirror.clear();
        for (const kv of [...first.kvs, ...newest.kvs, ...rest.kvs]) {
          const item = decodeItem(k, rawKv(kv));
          if (item) this.mirror.set(kv.key.toString(), item);
        }
        this.mirror.revision = first.revision;
        break;
      } catch (error) {
        // The load's revision was compacted away between two pages: start again at a newer one.
        if (!/compacted/i.test(String((error as Error)?.message)) || tries >= 3) throw error;
      }
    }
    this.notify();
    this.lastActivity = this.now();
    this.startWatch();
  }

  /**
   * Follows the host's keys from the mirror's revision on. The watch connects in the
   * background and reconnects to another member when its member goes; etcd3 resumes it
   * from the last revision it delivered.
   */
  private startWatch(): void {
    if (this.watcher || this.closed) return;
    const watcher = this.session.client
      .watch()
      .prefix(this.keys.hostPrefix)
      .startRevision(String(this.mirror.revision + 1))
      .watcher();
    this.watcher = watcher;
    this.watchConnected = false;
    watcher.on('connected', () => {
      if (this.watcher === watcher) this.watchConnected = true;
    });
    // Its member went away: etcd3 reconnects it (to another member) and resumes it.
    watcher.on('disconnected', () => {
      if (this.watcher === watcher) this.watchConnected = false;
    });
    watcher.on('data', (res) => {
      if (this.watcher === watcher) this.applyWatch(res);
    });
    // A watch etcd cancelled (its revision was compacted away): load afresh.
    watcher.on('error', () => {
      if (this.watcher === watcher) void this.load().catch(() => {});
    });
    this.armIdle();
  }

  private applyWatch(res: IWatchResponse): void {
    for (const event of res.events) {
      const key = event.kv.key.toString();
      if (event.type === 'Put') this.mirror.set(key, decodeItem(this.keys, rawKv(event.kv)));
      else this.mirror.set(key, null);
      this.mirror.revision = Math.max(this.mirror.revision, Number(event.kv.mod_revision));
    }
    this.mirror.revision = Math.max(this.mirror.revision, Number(res.header.revision));
    this.notify();
  }

  /** Marks registry work; an idle (stopped) watch means a stale mirror: load it again. */
  touch(): void {
    this.lastActivity = this.now();
    if (!this.watcher && !this.closed && !this.loading) void this.load().catch(() => {});
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    const idleFor = this.now() - this.lastActivity;
    this.idleTimer = setTimeout(
      () => {
        if (this.now() - this.lastActivity >= WATCH_IDLE_MS && !this.idle.busy()) {
          const watcher = this.watcher;
          this.watcher = null;
          void this.idle
            .settled()
            .then(() => watcher?.cancel())
            .catch(() => {});
        } else {
          this.armIdle();
        }
      },
      Math.max(10, WATCH_IDLE_MS - idleFor),
    );
    this.idleTimer.unref();
  }

  private notify(): void {
    for (const waiter of this.waiters) {
      if (waiter.check()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /**
   * Waits until `check()` holds of the mirror (the watch delivers); reloads when the watch
   * is too slow, or at once when it is reconnecting (its member died: waiting for it would
   * add a reconnection to every commit of a leader change).
   */
  async until(check: () => boolean): Promise<void> {
    if (check()) return;
    if (!this.watchConnected && !this.closed) {
      await this.load();
      if (check()) return;
    }
    const reached = await new Promise<boolean>((resolve) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, CATCH_UP_MS);
      this.waiters.add(waiter);
    });
    if (!reached && !this.closed) await this.load();
  }
}
