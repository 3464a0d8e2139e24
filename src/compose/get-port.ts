/**
 * `getPort()`: the drop-in for get-port users, with one difference that
 * matters: the port is leased in the shared registry for the calling process,
 * so parallel test workers never receive the same port. Leases end when the
 * process exits (or with `releasePort`), and a killed process's leases are
 * reclaimed by the next allocation.
 *
 * Built for bursts (issue #8): the calls a process makes at once share
 * registry transactions (group commit, in the registry adapter); zero-config
 * calls draw from ports leased ahead in one request; the kernel's socket
 * table is read only once a bind has shown that ports here are crowded, and
 * never under the registry's lock. Every port handed out is confirmed by a
 * real bind.
 */

import { isAbsolute, resolve } from 'node:path';
import { describeTally, type ObstacleTally } from '../core/decisions.js';
import type { ProbeResult } from '../core/facts.js';
import { pickPort, tallyPick } from '../core/pick.js';
import type { Occupancy } from '../core/planner.js';
import { basePolicy, DEFAULT_POOL, isPort, type PortPolicy, type PortUse } from '../core/policy.js';
import type { RegistryTx, TransactionOptions } from '../core/registry.js';
import type { LeaseOwner, PortRange } from '../core/types.js';
import { BerthError } from '../errors.js';
import { type Adapters, berthHome, createAdapters, createKernelFacts } from './context.js';
import { reclaimBlockers } from './reclaim.js';
import { burstWorkBegins, callEnded, callStarted, callsInFlight, endOfSlice, sliceWait } from './slices.js';
import { TxSnapshot } from './snapshot.js';

/** Options of {@link getPort}; the shape follows get-port's. */
export interface GetPortOptions {
  /** Preferred port or ports, tried in order. */
  port?: number | Iterable<number>;
  /** Range to choose from when the preferred ports are taken: `[min, max]` or `{ min, max }`. Without it, the default pool. */
  range?: readonly [number, number] | PortRange;
  /** Ports never to return. */
  exclude?: Iterable<number>;
  /** What `berth ls` shows as the lease's service, e.g. `berth serve`. Default `getPort`. */
  label?: string;
  /** Registry folder; default `$BERTH_HOME`, `$XDG_STATE_HOME/berth` or `~/.local/state/berth`. */
  home?: string;
}

/**
 * How old a read of the kernel's listening sockets getPort() may plan from while a
 * fresh one runs in the background, in milliseconds. Safe because every pick is
 * confirmed by a bind; the price is that a port freed within the window may be passed over.
 */
const GETPORT_KERNEL_STALE_MS = 5_000;

/**
 * After a bind finds a port busy that the registry thought free, calls plan from the
 * kernel's socket table for this long, in milliseconds. Until then they do not read it
 * at all: reading /proc/net/tcp{,6} walks the kernel's whole connection hash (2-20 ms on
 * this project's machines), more than the rest of a call, and a free port is the rule.
 */
const KERNEL_TRUST_MS = 5_000;

/**
 * How long a port a lone call's first choice found leased is planned for at once, in
 * milliseconds (see `GetPortContext.insertNow`). Planning is right whatever happened since:
 * a port freed meanwhile is picked by the plan too.
 */
const HELD_MEMO_MS = 5_000;

/** Ports remembered so at most: a caller that names thousands of held ports plans for them all the same. */
const HELD_MEMO_MAX = 256;

/** Attempts when a picked port turns out busy on bind (a listener the kernel table had not shown yet). */
const MAX_BIND_ATTEMPTS = 20;

/** Pool ports tried when each, free on every address, proves busy on get-port's `host` (a listener came in between). */
const HOST_ATTEMPTS = 20;

/**
 * Zero-config calls lease at least this many ports per request (more when more calls
 * wait) and hand them out one by one, each confirmed by a bind when handed out. A commit
 * costs more than a bind; one commit per handful brought zero-config latency under
 * get-port's. Ports not yet handed out stay leased to this process until it exits.
 */
export const RESERVE_BATCH = 8;

/** Most pool ports leased in one request: bounds how long one transaction keeps the event loop. */
export const RESERVE_MAX = 64;

/**
 * A top-up that finds the write lock taken tries again this many times, after
 * {@link TOP_UP_RETRY_MS}, twice that, and so on (jittered, on unref'd timers): after a
 * burst, every process of it tops up at once, and most found the lock taken.
 */
const TOP_UP_TRIES = 5;
const TOP_UP_RETRY_MS = 2;

/**
 * How long the top-up after a burst (calls of this process still in flight when one
 * answered) waits, in milliseconds. Bursts come together: parallel test workers start
 * at once, and the other processes of one still wait for the lock and the CPU. A
 * top-up at once competed with them for both (burst section, side by side: 16 x 4
 * 1.31x -> 0.98x get-port, 64 x 10 1.44x -> 0.97x); the next burst of a test worker
 * is further away than this.
 */
export const BURST_TOP_UP_DELAY_MS = 20;

/**
 * When a zero-config call leaves this few ports in the reserve, the reserve is topped up
 * in the next turn of the event loop (a `setImmediate`, once the call has answered; after
 * a burst, {@link BURST_TOP_UP_DELAY_MS} later), so a caller that does anything between
 * its calls never waits for the commit; a burst bigger than the reserve waits as before.
 */
export const RESERVE_LOW = 2;

/**
 * How long a normal exit may wait for the registry to release this process's leases,
 * in milliseconds (#8: exit is never held up for longer). Past it the leases stay,
 * and the next allocation reclaims them because their owner is gone.
 */
export const EXIT_RELEASE_MS = 50;

/** A lease committed for a call: its port and id. */
type Leased = { port: number; id: number };

/** What a transaction left without running answers with when a port of the reserve answers its call. */
const FROM_RESERVE = 'reserve' as const;

/**
 * Transactions that plan from no lease need no reclaim of stale leases first: those
 * that only give leases back, and a lone call's first choice (see {@link GetPortContext.insertNow}).
 */
const NO_SWEEP = { reclaim: false } as const;

/** A getPort request after validation. */
export interface PortRequest {
  preferred: number[];
  exclude: ReadonlySet<number>;
  range: PortRange | null;
  label: string;
  use: PortUse;
}

const DEFAULT_LABEL = 'getPort';

const NO_PORTS: ReadonlySet<number> = new Set();
/** What a lone call's first choice is picked from: no lease and no listener known (see {@link GetPortContext.insertNow}). */
const UNPLANNED: Occupancy = { leased: () => false, leaseAt: () => undefined, listening: () => false };

/** A check of one port that replaces or adds to the all-address bind (get-port's `host`: that address only). */
export type PortCheck = (port: number) => ProbeResult | Promise<ProbeResult>;

/** One use of {@link GetPortContext}'s probe loop. */
interface ConfirmStep {
  /**
   * Leases the next port to try (passing over `busy`, the ports this loop found busy); `null`: none
   * left. A port at hand (the reserve's) comes back as is, not in a promise.
   */
  choose(busy: ReadonlySet<number>): number | Promise<number | null>;
  /** Confirms a leased port; default one bind on every address. */
  check?: PortCheck;
  /** Busy ports after which the loop gives up. */
  attempts: number;
  /** The error then. */
  exhausted(busy: readonly number[]): BerthError;
}

/**
 * The getPort state of one registry: the leases this process holds through
 * getPort, the zero-config reserve, and whether ports here have proved crowded.
 */
export class GetPortContext {
  /** Ports this process leased here, with their lease ids (exit handlers release by id). */
  private readonly held = new Map<number, number>();
  /** Pool ports leased ahead for zero-config calls. */
  private reserve: number[] = [];
  private waiters: { resolve: (port: number) => void; reject: (error: unknown) => void }[] = [];
  private refilling = false;
  private topUpPending = false;
  /**
   * Reserve ports handed out (to zero-config calls, and to preferred calls that fall back
   * to it) since the reserve was last topped up: the demand a top-up covers, so a process
   * whose calls come in bursts of 25 has 25 ready for the next one (at least
   * {@link RESERVE_BATCH}, at most {@link RESERVE_MAX}).
   */
  private demand = 0;
  /** A zero-config call took the reserve to its low mark: top it up once the call has answered. */
  private topUpDue = false;
  /** A release's transaction carries a top-up (see {@link release}). */
  private toppingUp = false;
  /** The epoch the pending top-up was armed in: one from before a releaseAll or close is not carried. */
  private topUpArmedIn = -1;
  /** Moves on at `releaseAll` and `close`: a top-up begun before either leases nothing for the reserve. */
  private epoch = 0;
  private crowdedUntil = Number.NEGATIVE_INFINITY;
  /** The policy made from the kernel's facts last read (see {@link policy}). */
  private lastPolicy: PortPolicy | undefined;
  /**
   * Ports a lone call's first choice found leased, until when (`performance.now()`): a
   * call for one of them plans at once instead of paying a turn of the lock for a refused
   * insert first (test workers asking, one after another, for a port a dev server holds).
   */
  private readonly heldLately = new Map<number, number>();
  private shared: { batch: number; listening: ReadonlySet<number> | null; snapshot: TxSnapshot } | undefined;
  private readonly owner: LeaseOwner;
  /**
   * {@link reserveAnswers}' verdicts in the current turn of the event loop, by list of
   * ports; forgotten at each commit of this process's own leases or releases too.
   */
  private verdicts: Map<string, boolean> | undefined;
  /** Calls waiting for a transaction that the reserve may answer instead (see {@link reserveAnswers}). */
  private mayWithdraw = 0;
  /** Where the current batch's next pool pick starts (see {@link lease}). */
  private cursor: { batch: number; start: number } | undefined;
  /** Owners of leases in the way found alive in the current batch: checked once per batch, not per request. */
  private alive: { batch: number; owners: Set<string> } = { batch: -1, owners: new Set() };

  constructor(readonly adapters: Adapters) {
    this.owner = adapters.processes.self();
  }

  /** Leases a port (see {@link getPort}). */
  async getPort(options: GetPortOptions = {}): Promise<number> {
    return this.getPortFor(toRequest(options));
  }

  /** {@link getPort} for options already read (the module's getPort reads them before it opens a registry). */
  getPortFor(request: PortRequest): Promise<number> {
    return this.call(() => this.leasePort(request));
  }

  /**
   * Runs one getPort-like call: counted for the event loop's slices, and followed,
   * once it has answered, by the reserve's top-up when the call took it below its
   * low mark (so the top-up runs after the caller's turn, not during this call's probe).
   */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    const epoch = this.epoch;
    callStarted();
    try {
      return await run();
    } finally {
      callEnded();
      // Not after a releaseAll or close that began meanwhile.
      if (this.topUpDue && epoch === this.epoch) {
        if (this.reserveLow()) this.topUpWhenIdle(callsInFlight() > 0);
        else this.topUpDue = false;
      }
    }
  }

  /**
   * Leases a port for `request` and confirms it with a bind on every address (and,
   * given `host`, a check of that address too: berth-ports/get-port's `host`).
   */
  private leasePort(request: PortRequest, host?: PortCheck): Promise<number> {
    const zeroConfig =
      request.preferred.length === 0 &&
      request.range === null &&
      request.exclude.size === 0 &&
      request.label === DEFAULT_LABEL;
    const choose = zeroConfig
      ? () => this.fromReserve()
      : (busy: ReadonlySet<number>) => {
          // A lone call for a port it names leases it at once, in this run, when it can (#22).
          // "Lone" as the call starts: the first call of a burst made in one run is lone
          // too, and leases its first choice in a turn of the lock of its own; the burst's
          // other calls, begun by then, plan together.
          if (request.preferred.length > 0 && this.mayChooseAtOnce(busy)) {
            const first = this.leaseFirstChoice(request);
            if (first !== undefined) return first;
          }
          return this.planned(request, busy);
        };
    const check = host
      ? async (port: number) => ((await this.probe(port)) === 'free' ? host(port) : 'busy')
      : undefined;
    return this.confirmed({
      choose,
      ...(check ? { check } : {}),
      attempts: host ? HOST_ATTEMPTS : MAX_BIND_ATTEMPTS,
      exhausted: host ? hostBusyError : bindBusyError,
    }) as Promise<number>;
  }

  /**
   * Leases a port for `request` by planning: in a burst, the reserve answers a call whose
   * ports are held; otherwise a transaction picks (preferred ports, then the range or the
   * pool), queued with the process's other calls.
   */
  private async planned(request: PortRequest, busy: ReadonlySet<number>): Promise<number> {
    // Only in a burst: a lone call would pay the read on top of its transaction. A call
    // lone when it began looks a microtask later, once any others of its run have begun.
    if (callsInFlight() === 1) await undefined;
    if (callsInFlight() > 1 && this.reserve.length > 0 && this.reserveAnswers(request))
      return this.fromReserve();
    const listening = await this.listeningFacts();
    const policy = this.policy();
    // Waiting behind other processes, the call looks again at each wake: once the ports
    // it prefers are held (another process of the burst leased them), the reserve
    // answers; only while it has a port for each such call (an empty one would refill
    // in a transaction of its own, a turn of the lock all the same).
    const withdraw = fallsBackToPool(request);
    if (withdraw) this.mayWithdraw++;
    // The reserve would have answered, had it held a port for each such waiting call.
    let short = false;
    let leased: Leased[] | typeof FROM_RESERVE;
    try {
      leased = await this.transact<Leased[] | typeof FROM_RESERVE>(
        (tx) => this.lease(tx, request, policy, 1, listening, busy),
        withdraw
          ? {
              instead: () => {
                if (!this.reserveAnswers(request)) return undefined;
                if (this.reserve.length >= this.mayWithdraw) return FROM_RESERVE;
                short = true;
                return undefined;
              },
            }
          : {},
      );
    } finally {
      if (withdraw) this.mayWithdraw--;
    }
    if (leased === FROM_RESERVE) return this.fromReserve();
    const port = this.hold(leased)[0]!;
    if (short && !request.preferred.includes(port)) this.fellBack();
    return port;
  }

  /**
   * A lone call's first choice, leased without planning (#22): the first port it asks for
   * that the options and the policy allow (see {@link insertNow}). `undefined`: plan as
   * usual: none of the ports asked for is allowed, a lease holds the one that is (or held
   * it lately), or {@link insertNow} could not run now. Only when {@link mayChooseAtOnce}.
   */
  private leaseFirstChoice(request: PortRequest): number | undefined {
    const pick = pickPort({
      preferred: request.preferred,
      range: request.range,
      exclude: request.exclude,
      policy: this.policy(),
      use: request.use,
      occupancy: UNPLANNED,
      start: 0,
    });
    return pick?.strategy === 'preferred'
      ? (this.insertNow(pick.port, request.label) ?? undefined)
      : undefined;
  }

  /**
   * Whether a call may lease its first choice at once (see {@link insertNow}): it is the
   * only call in flight, and no port here has proved busy lately (then calls plan from
   * the kernel's table).
   */
  private mayChooseAtOnce(busy: ReadonlySet<number>): boolean {
    return callsInFlight() === 1 && busy.size === 0 && !this.crowded();
  }

  /**
   * Leases `port` at once, in a transaction of its own, when the lock is free and nobody
   * queues for it; returns `port`, `null` when a lease holds it (its unique index says so,
   * or said so within {@link HELD_MEMO_MS}: the caller plans, which gives that lease's
   * owner the full check), or `undefined` when it cannot run now (this process has a
   * batch pending, another process holds or queues for the lock, or the registry has no
   * such path: etcd). For a lone call that asks for a port by number: most such ports are
   * free, and planning cost more than the lease (the batch's sweep of dead owners' leases,
   * a read of the port's block of the index, the pick: preferred median 81 -> 71 us in
   * the latency rotation). Nothing is planned from other leases here, so nothing needs
   * their sweep; the next call that picks among ports sweeps.
   */
  private insertNow(port: number, label: string): number | null | undefined {
    const heldUntil = this.heldLately.get(port);
    if (heldUntil !== undefined) {
      if (performance.now() < heldUntil) return null;
      this.heldLately.delete(port);
    }
    const now = this.adapters.registry.transactionNow?.((tx) => {
      try {
        return this.insertLease(tx, port, label);
      } catch (error) {
        if (error instanceof BerthError && error.code === 'E_PORT_HELD') return null;
        throw error;
      }
    }, NO_SWEEP);
    if (now === undefined) return undefined;
    if (now.value !== null) return this.holdOne(port, now.value);
    this.rememberHeld(port);
    return null;
  }

  /** Notes that a lease held `port` when a first choice asked for it (see {@link heldLately}). */
  private rememberHeld(port: number): void {
    const now = performance.now();
    if (this.heldLately.size >= HELD_MEMO_MAX) {
      for (const [p, until] of this.heldLately) if (until <= now) this.heldLately.delete(p);
      if (this.heldLately.size >= HELD_MEMO_MAX) this.heldLately.clear();
    }
    this.heldLately.set(port, now + HELD_MEMO_MS);
  }

  /**
   * Runs `fn` in a registry transaction. A lone call runs it at once when the lock is free
   * and nobody queues for it: no promise of the group commit's and no turn of the microtask
   * queue (#22). Calls made together share a queued one (group commit).
   */
  private transact<T>(
    fn: (tx: RegistryTx) => T,
    options: TransactionOptions<NoInfer<T>> = {},
  ): T | Promise<T> {
    if (callsInFlight() === 1) {
      const now = this.adapters.registry.transactionNow?.(fn, options);
      if (now) return now.value;
    }
    return this.adapters.registry.transaction(fn, options);
  }

  /**
   * Whether a port of the reserve answers `request` as its transaction would (callers
   * check that the reserve has one): it prefers ports that live processes (this one
   * included) hold by unexpired leases, and falls back to the pool as a zero-config call
   * does (no range, no exclusions, the default label). Read without the lock, with the
   * full check of each holder (a zombie's lease is not taken as held: its call goes to
   * the transaction, which reclaims it). In a burst where every process prefers one
   * port, the processes that ask after its lease was committed then answer from their
   * reserve instead of each waiting its turn of the lock (#22).
   */
  private reserveAnswers(request: PortRequest): boolean {
    // Not for a registry several hosts share (etcd): its local mirror may lag, and a
    // holder on another host cannot be checked here; its transactions decide.
    if (!fallsBackToPool(request) || this.adapters.registry.directory !== undefined) return false;
    // A burst's calls ask together (at the call, and at each wake in the queue): one read
    // per list of ports and turn of the event loop answers them all.
    const key = request.preferred.join(',');
    if (!this.verdicts) {
      this.verdicts = new Map();
      setImmediate(() => {
        this.verdicts = undefined;
      }).unref();
    }
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = this.preferredHeld(request.preferred);
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  /** Whether live processes (this one included) hold every one of `ports` by unexpired leases. */
  private preferredHeld(ports: readonly number[]): boolean {
    const { registry, processes } = this.adapters;
    const now = this.adapters.now();
    try {
      for (const port of ports) {
        const lease = registry.leasesInRange(port, port).find((l) => l.inheritsFrom === null);
        if (!lease || (lease.expiresAt !== null && lease.expiresAt <= now)) return false;
        if (lease.owner && !processes.isAlive(lease.owner)) return false;
      }
    } catch {
      // A registry that cannot be read without waiting (etcd still opening): the transaction waits and reports.
      return false;
    }
    return true;
  }

  /**
   * The probe loop of every getPort flavour: `choose` leases a port (passing over
   * the ports this loop found busy), a bind (or `check`) confirms it, and a busy
   * port is given back before the next choice. Returns the confirmed port, or
   * `null` once `choose` has nothing left; after `attempts` busy ports, throws
   * `exhausted(busy)`. A check that throws gives its port back and rethrows.
   */
  private async confirmed(step: ConfirmStep): Promise<number | null> {
    const check = step.check ?? ((port: number) => this.probe(port));
    // Made at the first busy port: most calls never meet one.
    let busy: Set<number> | undefined;
    for (let attempt = 0; attempt < step.attempts; attempt++) {
      // A lone call's steps take no turn of the microtask queue they do not need (~0.3 us each, #22).
      const chosen = step.choose(busy ?? NO_PORTS);
      const port = typeof chosen === 'number' ? chosen : await chosen;
      if (port === null) return null;
      // A burst's answers come back at once: their probes run in slices (see slices.ts),
      // each begun in the same run as its check.
      if (callsInFlight() > 1) {
        const wait = sliceWait();
        if (wait) await wait;
      }
      let result: ProbeResult;
      try {
        // A free port usually answers at once (see Probe.checkNow): no turn of the microtask queue then.
        const checked = check(port);
        result = typeof checked === 'string' ? checked : await checked;
      } catch (error) {
        await this.release(port);
        throw error;
      }
      if (result === 'free') return port;
      busy ??= new Set();
      busy.add(port);
      await this.release(port);
    }
    throw step.exhausted([...(busy ?? [])]);
  }

  /**
   * One bind of `port` on every address. A busy port the registry thought free means
   * something not leased through berth listens here: the next calls plan from the
   * kernel's socket table for a while.
   */
  private probe(port: number): ProbeResult | Promise<ProbeResult> {
    const { probe } = this.adapters;
    // Answered at once when the bind answers at once; a `then`, not an async function, otherwise (#22).
    const outcome = probe.checkNow ? probe.checkNow(port) : probe.check(port);
    return typeof outcome === 'string' ? this.noted(outcome) : outcome.then(this.noted);
  }

  /** A probe's result, noted: a busy port the registry thought free means ports here are crowded. */
  private readonly noted = (result: ProbeResult): ProbeResult => {
    if (result !== 'free') this.crowdedUntil = performance.now() + KERNEL_TRUST_MS;
    return result;
  };

  /**
   * Releases a port this process leased here; false when it held no such lease. A top-up
   * due rides along (see {@link topUpToCarry}): a test worker that gives its ports back
   * after a burst tops its reserve up in that turn of the lock, not in one of its own
   * later, where it met the next burst (of this process or others) and, with every
   * process of a burst topping up at once, found the lock taken and tried again, or gave
   * up and refilled in the burst.
   */
  async release(port: number): Promise<boolean> {
    const carry = this.topUpToCarry();
    const ahead = this.reserve.indexOf(port);
    if (ahead >= 0) this.reserve.splice(ahead, 1);
    const id = this.held.get(port);
    this.held.delete(port);
    this.verdicts = undefined;
    if (!carry) return this.giveBack(port, id);
    // One top-up at a time: releases made at once do not each lease a burst's worth.
    this.toppingUp = true;
    let toppedUp: Leased[] = [];
    let topUpFailed = false;
    try {
      const released = await this.giveBack(port, id, (tx) => {
        // Not once a releaseAll or close began: its transaction, queued after this one, would remove them.
        if (carry.epoch !== this.epoch) return;
        try {
          toppedUp = this.lease(tx, ZERO_CONFIG, carry.policy, carry.count, null, NO_PORTS);
        } catch (error) {
          topUpFailed = true;
          throw error;
        }
      });
      if (toppedUp.length > 0 && carry.epoch === this.epoch) this.stock(toppedUp);
      return released;
    } catch (error) {
      if (!topUpFailed) throw error;
      // The top-up failed (no free port in the pool, say) and took the release back with it:
      // the release goes on alone, and the next call that finds the reserve empty refills.
      this.topUpDue = false;
      return this.giveBack(port, id);
    } finally {
      this.toppingUp = false;
    }
  }

  /**
   * The top-up a release carries, if one is due: armed after a burst (in this epoch) or left
   * due by one that gave up on the lock; none while a call is in flight (its release of a
   * busy port stays short), for a registry several hosts share (etcd, whose top-ups never
   * ran off the call either), or when {@link topUpCount} finds none due. Planned without
   * the batch's sweep of dead owners' leases, as the timer's top-up is (a lease of a dead
   * owner is passed over, never handed out).
   */
  private topUpToCarry(): { epoch: number; count: number; policy: PortPolicy } | null {
    const epoch = this.epoch;
    const armed = this.topUpPending && this.topUpArmedIn === epoch;
    if (!(armed || this.topUpDue) || callsInFlight() > 0) return null;
    if (this.adapters.registry.directory !== undefined) return null;
    const count = this.topUpCount(epoch);
    return count > 0 ? { epoch, count, policy: this.policy() } : null;
  }

  /** Removes this process's ad-hoc lease of `port` (by `id` when known), after `more` in the same transaction. */
  private giveBack(port: number, id: number | undefined, more?: (tx: RegistryTx) => void): Promise<boolean> {
    const pid = this.owner.pid;
    return this.adapters.registry.transaction((tx) => {
      // First: the port given back is still leased while the top-up picks, so it is not picked again.
      more?.(tx);
      const lease =
        id !== undefined
          ? tx.lease(id)
          : tx.leasesInRange(port, port).find((l) => l.kind === 'adhoc' && l.owner?.pid === pid);
      if (!lease || lease.port !== port || lease.kind !== 'adhoc' || lease.owner?.pid !== pid) return false;
      tx.remove(lease.id, 'released');
      return true;
    }, NO_SWEEP);
  }

  /** Releases every port this process leased here (handed out or held in reserve); returns them. */
  async releaseAll(): Promise<number[]> {
    const ports = [...this.held.keys()];
    this.forgetAll();
    const pid = this.owner.pid;
    // In as many transactions as a bounded registry (etcd) needs: a release may stop halfway.
    for (let more = true; more; ) {
      more = await this.adapters.registry.transaction((tx) => {
        for (const lease of tx.leasesOwnedBy(pid)) {
          if (lease.kind !== 'adhoc') continue;
          if (tx.full?.()) return true;
          tx.remove(lease.id, 'released');
        }
        return false;
      }, NO_SWEEP);
    }
    return ports;
  }

  /**
   * The same, synchronously, for exit handlers: waits at most `timeoutMs` for the
   * lock, and gives up silently past it (the next allocation reclaims the leases).
   */
  releaseAllSync(timeoutMs = EXIT_RELEASE_MS): void {
    if (this.held.size === 0) return;
    const ids = [...this.held.values()];
    const pid = this.owner.pid;
    try {
      this.adapters.registry.transactionSync(
        (tx) => {
          for (const lease of ids.map((id) => tx.lease(id))) {
            if (lease && lease.kind === 'adhoc' && lease.owner?.pid === pid) tx.remove(lease.id, 'released');
          }
        },
        { timeoutMs },
      );
      this.forgetAll();
    } catch {
      // Exiting anyway; the next allocation reclaims leases of dead owners.
    }
  }

  /** Closes the registry. Leases stay until this process exits (or `releaseAll`). */
  close(): void {
    this.newEpoch();
    this.adapters.registry.close();
  }

  /** Forgets every port held here (their leases are being released) and starts a new epoch. */
  private forgetAll(): void {
    this.held.clear();
    this.reserve = [];
    this.demand = 0;
    this.newEpoch();
  }

  /**
   * Starts a new epoch: a refill or top-up in flight, or armed, from before it puts nothing
   * in the reserve (the calls it serves are still answered).
   */
  private newEpoch(): void {
    this.epoch++;
    this.topUpDue = false;
  }

  // For berth-ports/get-port (src/get-port/), which walks get-port's preferred ports chunk by
  // chunk and decides itself what comes after them.

  /**
   * Leases the first of `candidates` that no lease holds and a bind finds free, or
   * returns `null`: no range, no pool. No policy refuses a candidate (privileged,
   * ephemeral, browser-blocked): as in get-port, the ports asked for are tried and the
   * bind decides. `check` replaces the probe (get-port's `host`: that address only).
   */
  leaseFirstFree(candidates: readonly number[], check?: PortCheck): Promise<number | null> {
    return this.call(() => this.leaseFirstFreeNow(candidates, check));
  }

  private leaseFirstFreeNow(candidates: readonly number[], check?: PortCheck): Promise<number | null> {
    const choose = (busy: ReadonlySet<number>): number | Promise<number | null> => {
      // A lone call, nothing here known busy: its first candidate at once, in this run,
      // planned only if a lease holds it (#22). The kernel's table is not read when nothing
      // here proved crowded, so every candidate is open.
      const first = candidates[0];
      if (first !== undefined && this.mayChooseAtOnce(busy)) {
        const leased = this.insertNow(first, DEFAULT_LABEL);
        if (leased != null) return leased;
      }
      return plan(busy);
    };
    const plan = async (busy: ReadonlySet<number>): Promise<number | null> => {
      // The kernel's table lists listeners on every address: only for the all-address probe.
      const listening = check ? null : await this.listeningFacts();
      // Ports a bind or the kernel showed busy are passed over without taking the lock.
      const open = candidates.filter((p) => !busy.has(p) && !listening?.has(p));
      if (open.length === 0) return null;
      const leased = await this.transact((tx) => {
        let snapshot = this.snapshotFor(tx, listening, busy);
        const firstFree = () => open.find((p) => !snapshot.leased(p) && !snapshot.listening(p));
        let port = firstFree();
        // The leases passed over to reach it stand in the way: their owners get the full check.
        const passed = port === undefined ? open : open.slice(0, open.indexOf(port));
        const blockers = passed.flatMap((p) => snapshot.leaseAt(p) ?? []);
        if (reclaimBlockers(tx, blockers, this.adapters.processes, this.adapters.now(), this.aliveIn(tx))) {
          snapshot = this.freshSnapshot(tx, listening, busy);
          port = firstFree();
        }
        if (port === undefined) return null;
        snapshot.take(port);
        return { port, id: this.insertLease(tx, port, DEFAULT_LABEL) };
      });
      return leased ? this.hold([leased])[0]! : null;
    };
    // Every candidate found busy is passed over, so the loop ends when they run out.
    return this.confirmed({
      choose,
      ...(check ? { check } : {}),
      attempts: Number.POSITIVE_INFINITY,
      exhausted: bindBusyError,
    });
  }

  /**
   * get-port's random fallback, for berth-ports/get-port: a pool port, never one in `exclude`;
   * with `host` (get-port's option), free on every address and on that host too.
   */
  leaseFromPool(exclude: ReadonlySet<number>, host?: PortCheck): Promise<number> {
    // Only excluded ports in the pool matter; with none there, zero-config calls keep their fast path.
    const avoid = [...exclude].filter((p) => p >= DEFAULT_POOL.min && p <= DEFAULT_POOL.max);
    return this.call(() => this.leasePort(toRequest(avoid.length > 0 ? { exclude: avoid } : {}), host));
  }

  /** Whether ports here proved crowded lately: calls then plan from the kernel's table (see {@link KERNEL_TRUST_MS}). */
  private crowded(): boolean {
    return performance.now() < this.crowdedUntil;
  }

  /** The kernel's listening ports, once ports here have proved crowded; `null` (the bind decides) otherwise. */
  private async listeningFacts(): Promise<ReadonlySet<number> | null> {
    if (!this.crowded()) return null;
    await this.adapters.kernel.refresh();
    return this.adapters.kernel.listeningPorts();
  }

  /** A pool port from the reserve, leasing more (for every waiting call at once) when it runs out. */
  private fromReserve(): number | Promise<number> {
    const port = this.reserve.shift();
    if (port !== undefined) {
      this.demand++;
      // The low mark only, not reserveLow(): a steady caller's demand grows with every call,
      // and it tops up at the low mark, a batch at a time.
      if (this.reserve.length <= RESERVE_LOW) this.topUpDue = true;
      return port;
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      void this.refill();
    });
  }

  /**
   * A call that waited in the lock's queue, whose preferred ports another process leased
   * meanwhile, fell back to the pool in its turn because the reserve had no port for each
   * such waiting call: it counts as demand, so the top-up after the burst readies a port
   * for each, and the next burst like it leaves the queue instead of taking a turn (#22).
   * A lone call never waits in the queue, so it never counts here.
   */
  private fellBack(): void {
    this.demand++;
    if (this.reserveLow()) this.topUpDue = true;
  }

  /** Whether the reserve wants a top-up: at its low mark, or short of the last burst's demand. */
  private reserveLow(): boolean {
    return this.reserve.length <= RESERVE_LOW || this.reserve.length < this.demand;
  }

  private async refill(): Promise<void> {
    if (this.refilling) return;
    this.refilling = true;
    const epoch = this.epoch;
    try {
      const listening = await this.listeningFacts();
      const policy = this.policy();
      const leased = await this.adapters.registry.transaction((tx) => {
        // Sized when the lock is won, so every call that arrived meanwhile is served; once
        // releaseAll or close began, for those calls only: nothing more for the reserve.
        const wanted =
          epoch === this.epoch ? Math.max(this.waiters.length, RESERVE_BATCH) : this.waiters.length;
        if (wanted === 0) return [];
        return this.lease(tx, ZERO_CONFIG, policy, Math.min(wanted, RESERVE_MAX), listening, NO_PORTS);
      });
      for (const port of this.hold(leased)) {
        const waiter = this.waiters.shift();
        if (waiter) {
          this.demand++;
          waiter.resolve(port);
        }
        // Otherwise a releaseAll that began after the commit removes the lease: not for the reserve.
        else if (epoch === this.epoch) this.reserve.push(port);
      }
      // A burst that outran the reserve: the top-up after its calls readies as many for the next.
      if (epoch === this.epoch && this.reserve.length <= RESERVE_LOW) this.topUpDue = true;
    } catch (error) {
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    } finally {
      this.refilling = false;
      if (this.waiters.length > 0) void this.refillAfterSlice();
    }
  }

  /**
   * Tops the reserve up in the next turn of the event loop (a `setImmediate`, after the
   * caller's current turn), off the calling path: see {@link topUpNow}. After a burst,
   * {@link BURST_TOP_UP_DELAY_MS} later.
   */
  private topUpWhenIdle(afterBurst: boolean): void {
    // One pending (perhaps from before a releaseAll, then a no-op) keeps this due for the next call.
    if (this.topUpPending || this.refilling) return;
    this.topUpDue = false;
    this.topUpPending = true;
    const epoch = this.epoch;
    this.topUpArmedIn = epoch;
    if (afterBurst) setTimeout(() => this.topUpNow(epoch, 0), BURST_TOP_UP_DELAY_MS).unref();
    else setImmediate(() => this.topUpNow(epoch, 0)).unref();
  }

  /**
   * Leases a batch for the reserve in one synchronous transaction, if the write lock is
   * free right now: a top-up never waits for the lock, so it never keeps the process
   * alive or runs after a `releaseAll` began. The batch covers the calls since the last
   * top-up (a burst's worth; at least {@link RESERVE_BATCH}). A lock taken by another
   * process is tried again a few times on unref'd timers ({@link TOP_UP_TRIES}), and past
   * them the top-up stays due: the next release carries it (see {@link release}), or the
   * next call arms it again. Anything else in its way (ports here found crowded, a
   * registry that cannot commit synchronously: etcd, no free port, a closed registry)
   * leaves the refill to the next call that finds the reserve empty, which leases, waits
   * and reports as before.
   */
  private topUpNow(epoch: number, attempt: number): void {
    this.topUpPending = false;
    const count = this.topUpCount(epoch);
    if (count === 0) return;
    try {
      // Inside the try: this runs on a timer, where anything thrown would end the process.
      const policy = this.policy();
      const leased = this.adapters.registry.transactionSync(
        (tx) => this.lease(tx, ZERO_CONFIG, policy, count, null, NO_PORTS),
        { timeoutMs: 0 },
      );
      this.stock(leased);
    } catch (error) {
      if (!(error instanceof BerthError && error.code === 'E_REGISTRY_LOCKED')) return;
      if (attempt >= TOP_UP_TRIES) {
        // Still due: the next release carries it, or the next call arms it again.
        this.topUpDue = true;
        return;
      }
      // Jittered, so the processes of one burst do not all try again at the same moment.
      this.topUpPending = true;
      const delay = TOP_UP_RETRY_MS * 2 ** attempt * (0.5 + Math.random());
      setTimeout(() => this.topUpNow(epoch, attempt + 1), delay).unref();
    }
  }

  /**
   * How many ports a top-up leases now: the calls since the last one (a burst's worth), at
   * least {@link RESERVE_BATCH}, at most what {@link RESERVE_MAX} leaves room for; 0 when
   * none is due (the reserve is not low, a refill or a release's top-up runs, ports here
   * proved crowded, or a releaseAll or close began since the top-up was armed).
   */
  private topUpCount(epoch: number): number {
    if (epoch !== this.epoch || this.refilling || this.toppingUp || this.waiters.length > 0) return 0;
    if (!this.reserveLow()) return 0;
    if (this.crowded()) return 0;
    return Math.min(
      RESERVE_MAX - this.reserve.length,
      Math.max(RESERVE_BATCH, this.demand - this.reserve.length),
    );
  }

  /** Puts a top-up's ports in the reserve; the demand it covered starts again. */
  private stock(leased: readonly Leased[]): void {
    this.reserve.push(...this.hold(leased));
    this.demand = 0;
  }

  /** The next refill of a burst, once the event loop had its turn if this slice is used up. */
  private async refillAfterSlice(): Promise<void> {
    await endOfSlice();
    void this.refill();
  }

  /** Records committed leases as held by this process; returns their ports. */
  private hold(leased: readonly { port: number; id: number }[]): number[] {
    for (const { port, id } of leased) this.holdOne(port, id);
    return leased.map((l) => l.port);
  }

  /** Records one committed lease as held by this process; returns its port. */
  private holdOne(port: number, id: number): number {
    this.verdicts = undefined;
    this.held.set(port, id);
    return port;
  }

  /**
   * Inside a transaction: picks and leases up to `count` ports for `request`.
   * Throws `E_NO_PORT` when not even one is free.
   */
  private lease(
    tx: RegistryTx,
    request: PortRequest,
    policy: PortPolicy,
    count: number,
    listening: ReadonlySet<number> | null,
    busy: ReadonlySet<number>,
    retried = false,
  ): { port: number; id: number }[] {
    // A batch's time counts toward the slice of the probes of the calls it answers.
    burstWorkBegins();
    let snapshot = this.snapshotFor(tx, listening, busy);
    // Ports asked for by number that another process's lease holds get its owner fully
    // checked first: the batch's sweep trusts young owners on kill(pid, 0), which a zombie passes.
    const blockers = request.preferred.flatMap((p) => snapshot.leaseAt(p) ?? []);
    if (reclaimBlockers(tx, blockers, this.adapters.processes, this.adapters.now(), this.aliveIn(tx)))
      snapshot = this.freshSnapshot(tx, listening, busy);
    const size = policy.pool.max - policy.pool.min + 1;
    const taken = new Set(request.exclude);
    const leased: { port: number; id: number }[] = [];
    // One random start per batch, then onwards, request after request: the ports of one
    // batch share a few 256-port blocks of the index instead of touching one block each
    // (a burst of preferred calls that fall back: a block read and an index page written
    // per call, when each request started at random).
    const cursor = this.cursor;
    let start = cursor?.batch === tx.batch ? cursor.start % size : Math.floor(Math.random() * size);
    const pickInput = () => ({
      preferred: request.preferred,
      range: request.range,
      exclude: taken,
      policy,
      use: request.use,
      occupancy: snapshot,
      start,
    });
    // A bounded transaction (etcd) that is full ends the reserve early: at least one port, as many as fit.
    while (leased.length < count && !(leased.length > 0 && tx.full?.())) {
      const pick = pickPort(pickInput());
      if (!pick) break;
      if (pick.strategy === 'pool') start = (pick.port - policy.pool.min + 1) % size;
      taken.add(pick.port);
      snapshot.take(pick.port);
      leased.push({ port: pick.port, id: this.insertLease(tx, pick.port, request.label) });
    }
    this.cursor = { batch: tx.batch, start };
    if (leased.length === 0) {
      // A full range: its leases' owners get the full check too, then one more pick
      // (unless every port of it was asked for by number: their owners were just checked).
      const region = request.range ?? policy.pool;
      if (
        !retried &&
        !coveredBy(region, request.preferred) &&
        reclaimBlockers(
          tx,
          tx.leasesInRange(region.min, region.max),
          this.adapters.processes,
          this.adapters.now(),
          this.aliveIn(tx),
        )
      ) {
        this.freshSnapshot(tx, listening, busy);
        return this.lease(tx, request, policy, count, listening, busy, true);
      }
      throw noPortError(request, policy, tallyPick({ ...pickInput(), exclude: request.exclude }));
    }
    return leased;
  }

  /** Inside a transaction: leases `port` to this process as an ad-hoc lease labelled `label`; returns its id. */
  private insertLease(tx: RegistryTx, port: number, label: string): number {
    return tx.insert({
      port,
      kind: 'adhoc',
      project: '',
      dir: '',
      environment: '',
      service: label,
      inheritsFrom: null,
      owner: this.owner,
      createdAt: this.adapters.now(),
      expiresAt: null,
      scheme: null,
    }).id;
  }

  /** The owners found alive so far in `tx`'s batch (its requests run one after another in it). */
  private aliveIn(tx: RegistryTx): Set<string> {
    if (this.alive.batch !== tx.batch) this.alive = { batch: tx.batch, owners: new Set() };
    return this.alive.owners;
  }

  /** One occupancy snapshot per batch, shared by its requests (they run one after another in it). */
  private snapshotFor(
    tx: RegistryTx,
    listening: ReadonlySet<number> | null,
    busy: ReadonlySet<number>,
  ): TxSnapshot {
    if (busy.size > 0) return new TxSnapshot(tx, listening, busy);
    const shared = this.shared;
    if (shared && shared.batch === tx.batch && shared.listening === listening) return shared.snapshot;
    const snapshot = new TxSnapshot(tx, listening);
    this.shared = { batch: tx.batch, listening, snapshot };
    return snapshot;
  }

  /** A new snapshot for the rest of the batch, after leases were removed under the shared one. */
  private freshSnapshot(
    tx: RegistryTx,
    listening: ReadonlySet<number> | null,
    busy: ReadonlySet<number>,
  ): TxSnapshot {
    this.shared = undefined;
    return this.snapshotFor(tx, listening, busy);
  }

  /** The machine's port policy; read before taking the lock (the ephemeral range is a /proc read, once). */
  private policy(): PortPolicy {
    const { kernel } = this.adapters;
    const ephemeral = kernel.ephemeralRange();
    const excluded = kernel.excludedRanges();
    // The same facts make the same policy: one object for every call, not one per call (#22).
    const last = this.lastPolicy;
    if (last && last.ephemeral === ephemeral && last.excluded === excluded) return last;
    this.lastPolicy = basePolicy({ ephemeral, excluded });
    return this.lastPolicy;
  }
}

/** Whether `request` falls back to the pool as a zero-config call does: no range, no exclusions, the default label. */
function fallsBackToPool(request: PortRequest): boolean {
  return request.range === null && request.exclude.size === 0 && request.label === DEFAULT_LABEL;
}

/** Whether every port of `range` is one of `ports` (`{ port: p, range: [p, p] }`). */
function coveredBy(range: PortRange, ports: readonly number[]): boolean {
  if (range.max - range.min >= ports.length) return false;
  for (let port = range.min; port <= range.max; port++) if (!ports.includes(port)) return false;
  return true;
}

function bindBusyError(busy: readonly number[]): BerthError {
  return new BerthError(
    'E_NO_PORT',
    `ports kept turning out busy when bound (${busy.join(', ')}). Another program is grabbing ports; try again.`,
    { data: { ports: [...busy] } },
  );
}

function hostBusyError(busy: readonly number[]): BerthError {
  return new BerthError(
    'E_NO_PORT',
    `pool ports kept turning out busy on the given host (${busy.join(', ')}). Another program is grabbing ports there; try again.`,
    { data: { ports: [...busy] } },
  );
}

function noPortError(request: PortRequest, policy: PortPolicy, tally: ObstacleTally): BerthError {
  const where = request.range
    ? `range ${request.range.min}-${request.range.max}`
    : `the pool ${policy.pool.min}-${policy.pool.max}`;
  const preferred = request.preferred.length ? `preferred ${request.preferred.join(', ')} or ` : '';
  const fix = request.range
    ? 'Widen the range, or release ports (berth ls --all-projects).'
    : 'Release ports (berth ls --all-projects).';
  return new BerthError(
    'E_NO_PORT',
    `no free port in ${preferred}${where}: ${describeTally(tally)}. ${fix}`,
    {
      data: { range: request.range, preferred: request.preferred, obstacles: tally },
    },
  );
}

/** What a getPort port is for: a browser may reach it (no browser-blocked ports), privileged ports only when asked for by number. */
const HTTP_USE: PortUse = Object.freeze({
  requires: Object.freeze(['http'] as const),
  allowPrivileged: false,
});
const HTTP_USE_PRIVILEGED: PortUse = Object.freeze({ ...HTTP_USE, allowPrivileged: true });

/** The request of a call without options, built once: the zero-config path allocates nothing for it. */
const ZERO_CONFIG: PortRequest = Object.freeze<PortRequest>({
  preferred: [],
  exclude: NO_PORTS,
  range: null,
  label: DEFAULT_LABEL,
  use: HTTP_USE,
});

function toRequest(options: GetPortOptions): PortRequest {
  if (
    options.port === undefined &&
    options.exclude === undefined &&
    options.range === undefined &&
    options.label === undefined
  ) {
    return ZERO_CONFIG;
  }
  const preferred = toPorts(options.port, 'port');
  let privileged = false;
  for (const port of preferred) if (port < 1024) privileged = true;
  // Shared objects where a call has nothing of its own: this runs on every call (#22).
  return {
    preferred,
    exclude: options.exclude === undefined ? NO_PORTS : new Set(toPorts(options.exclude, 'exclude')),
    range: toRange(options.range),
    label: options.label ?? DEFAULT_LABEL,
    use: privileged ? HTTP_USE_PRIVILEGED : HTTP_USE,
  };
}

function toRange(range: GetPortOptions['range']): PortRange | null {
  if (!range) return null;
  const r = 'min' in range ? range : { min: range[0], max: range[1] };
  if (!isPort(r.min) || !isPort(r.max) || r.min > r.max) {
    throw new BerthError(
      'E_USAGE',
      `range ${r.min}-${r.max} is not a valid port range. Use integers with 1 <= min <= max <= 65535.`,
    );
  }
  return r;
}

function toPorts(value: GetPortOptions['port'] | GetPortOptions['exclude'], name: string): number[] {
  if (value === undefined) return [];
  const given: unknown = value;
  if (typeof given === 'string') {
    throw new BerthError(
      'E_USAGE',
      `${name} ${JSON.stringify(given)} is a string. Pass a number such as ${Number.parseInt(given, 10) || 3000}, or an array of numbers.`,
    );
  }
  const ports = typeof value === 'number' ? [value] : [...value];
  for (const p of ports) {
    if (!isPort(p)) {
      throw new BerthError(
        'E_USAGE',
        `${name} ${String(p)} is not a TCP port. Use integers from 1 to 65535.`,
      );
    }
  }
  return ports;
}

/** The default registry folder, worked out at the first call (as the environment was then). */
let defaultHomeFolder: string | undefined;
function defaultHome(): string {
  defaultHomeFolder ??= resolve(berthHome());
  return defaultHomeFolder;
}

/** The contexts of this process, by registry folder. */
const contexts = new Map<string, GetPortContext>();
/**
 * The releases of a `closeGetPort()` under way, if any (never rejects): calls made
 * meanwhile wait for them. Each release removes every getPort lease of this process in
 * its registry, so a lease a call made meanwhile committed (at once, for a lone call)
 * would go with them.
 */
let closing: Promise<void> | undefined;

/** The releases of a `closeGetPort()` under way, for callers that open a context themselves (berth-ports/get-port). */
export function getPortClosing(): Promise<void> | undefined {
  return closing;
}
/** The context the last call asked for, by the folder as given (`undefined`: the default). */
let lastContext: { home: string | undefined; context: GetPortContext } | undefined;

/** The context for `home`, created on first use (the first also installs the exit hook). */
export function getPortContext(home?: string): GetPortContext {
  // A call that names its folder as the last one did skips resolving the path (~5 us a
  // call); not a relative one, which may mean another folder after a chdir.
  const last = lastContext;
  if (last && last.home === home && (home === undefined || isAbsolute(home))) return last.context;
  // By resolved folder: `getPort()` and `berth-ports/get-port` in one process share one registry connection.
  const key = home === undefined ? defaultHome() : resolve(home);
  let context = contexts.get(key);
  if (!context) {
    const kernel = createKernelFacts({ staleMs: GETPORT_KERNEL_STALE_MS });
    context = new GetPortContext(createAdapters({ home: key, adapters: { kernel } }));
    if (contexts.size === 0) process.once('exit', releaseOnExit);
    contexts.set(key, context);
  }
  lastContext = { home, context };
  return context;
}

function releaseOnExit(): void {
  for (const context of contexts.values()) context.releaseAllSync();
}

/**
 * Releases every getPort lease of this process and closes the registries
 * (tests, and embedders that want a clean slate). getPort works again after it.
 *
 * @example
 * afterAll(() => closeGetPort());
 */
export function closeGetPort(): Promise<void> {
  const all = [...contexts.values()];
  contexts.clear();
  lastContext = undefined;
  defaultHomeFolder = undefined;
  process.removeListener('exit', releaseOnExit);
  const before = closing;
  const done = (async () => {
    await before;
    for (const context of all) {
      await context.releaseAll();
      context.close();
    }
  })();
  const settled = done.catch(() => {});
  closing = settled;
  void settled.then(() => {
    if (closing === settled) closing = undefined;
  });
  return done;
}

/**
 * Leases a free port for this process.
 *
 * @example
 * const port = await getPort({ port: [3000, 3001], range: [3000, 3999], exclude: [3002] });
 * server.listen(port);
 */
export function getPort(options: GetPortOptions = {}): Promise<number> {
  // Not an async function: returning the call's own promise from one costs two more turns
  // of the microtask queue (~1 us of a 15 us call, #22). Errors still come as rejections.
  try {
    // Bad options are E_USAGE whatever state the registry is in: read them before opening it.
    const request = toRequest(options);
    if (closing) return closing.then(() => getPortContext(options.home).getPortFor(request));
    return getPortContext(options.home).getPortFor(request);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Releases a port this process leased with {@link getPort}. Returns false when it held no such lease.
 *
 * @example
 * const port = await getPort();
 * await releasePort(port);
 */
export async function releasePort(port: number, options: { home?: string } = {}): Promise<boolean> {
  return getPortContext(options.home).release(port);
}
