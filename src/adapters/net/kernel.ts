/**
 * {@link KernelFacts} from the running kernel: listening sockets from /proc
 * (Linux), the ephemeral range, Windows' excluded ranges.
 *
 * Why the listening-socket table may be a few milliseconds old: it is only
 * ever a pre-filter. Every port berth hands out is confirmed with a real bind
 * (src/adapters/net/probe.ts), so a socket that appeared since the read costs
 * one extra bind, never a wrong answer; a socket that closed since the read
 * makes berth pass over a port that just became free, which a 25 ms window
 * makes rare. Reading is not free: on Linux the kernel walks its whole
 * connection hash for each of /proc/net/tcp and tcp6, about 2 ms each on a
 * machine with tens of GB of RAM (see procnet.ts), too much to pay on every
 * allocation or to block the event loop with more often than needed.
 */
import type { KernelFacts, Listener } from '../../core/facts.js';
import type { PortRange } from '../../core/types.js';
import { readEphemeralRange } from './ephemeral.js';
import { readExcludedRanges } from './netsh.js';
import { readListeners, readListenersAsync } from './procnet.js';

/** How long a read of the listening sockets is served as current, in milliseconds. */
export const LISTENERS_CACHE_MS = 25;

/**
 * How long past {@link LISTENERS_CACHE_MS} an older read is still served
 * while a new one runs on the thread pool, in milliseconds. Past both, a
 * read happens synchronously, on the caller's stack.
 */
export const LISTENERS_STALE_MS = 250;

/** Where the facts come from; the running kernel by default. */
export interface KernelSources {
  /** Reads the listening sockets synchronously; `null` when the platform has no table. */
  listeners(): Listener[] | null;
  /** The same, off the main thread. Must not reject. */
  listenersAsync(): Promise<Listener[] | null>;
  /** The ephemeral range; read once. */
  ephemeralRange(): PortRange | null;
  /** OS-excluded ranges; read once, at creation. */
  excludedRanges(): Promise<PortRange[]>;
}

/** Options of {@link createKernelFacts}. */
export interface KernelFactsOptions {
  /** How long a read of the listening sockets is served as current, in ms. Default {@link LISTENERS_CACHE_MS}; 0 reads on every call. */
  cacheMs?: number;
  /** How long past `cacheMs` an older read is served while a fresh one is read in the background, in ms. Default {@link LISTENERS_STALE_MS}; 0 turns that off. */
  staleMs?: number;
  /** Replace any source of facts (tests). */
  sources?: Partial<KernelSources>;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  now?: () => number;
}

/** {@link KernelFacts} plus the asynchronous side of reading them. */
export interface NodeKernelFacts extends KernelFacts {
  /**
   * Settles once the excluded ranges are loaded (Windows runs `netsh` at
   * creation). Rejects with the `E_PROBE` error when they could not be read;
   * `excludedRanges()` then stays empty and bind probes (EACCES) still
   * catch excluded ports one at a time.
   */
  ready(): Promise<void>;
}

/** One read of the listening sockets and the ports derived from it. */
interface Snapshot {
  readonly listeners: readonly Listener[] | null;
  /** Monotonic ms when the read started: the data is at least this fresh. */
  readonly readAt: number;
  ports?: ReadonlySet<number> | null;
}

/** The ephemeral range of this process's machine, read at most once per process. */
let processEphemeralRange: { range: PortRange | null } | undefined;

/** The machine's ephemeral range, read once per process (the library entry reads it at import). */
export function machineEphemeralRange(): PortRange | null {
  processEphemeralRange ??= { range: readEphemeralRange() };
  return processEphemeralRange.range;
}

const DEFAULT_SOURCES: KernelSources = {
  listeners: () => readListeners(),
  listenersAsync: () => readListenersAsync(),
  ephemeralRange: machineEphemeralRange,
  excludedRanges: () => readExcludedRanges(),
};

/**
 * Kernel facts for the planner, cached as described in the module comment.
 * On Windows it starts `netsh` at once; `excludedRanges()` is empty until
 * that finishes (await `ready()` to be sure). A little over 80 lines: one
 * closure over the cached read, whose methods share it; splitting them would
 * only pass the same four variables around.
 *
 * @example
 * const kernel = createKernelFacts();
 * await kernel.refresh(); // optional: keeps the /proc read off the event loop
 * const busy = kernel.listeningPorts(); // Set of ports with a listener, or null off Linux
 */
export function createKernelFacts(options: KernelFactsOptions = {}): NodeKernelFacts {
  const cacheMs = options.cacheMs ?? LISTENERS_CACHE_MS;
  const staleMs = options.staleMs ?? LISTENERS_STALE_MS;
  const sources: KernelSources = { ...DEFAULT_SOURCES, ...options.sources };
  const now = options.now ?? (() => performance.now());

  let snapshot: Snapshot | undefined;
  let inFlight: Promise<void> | undefined;
  let ephemeral: { range: PortRange | null } | undefined;
  let excluded: readonly PortRange[] = [];

  // Attach the handler now: a rejection nobody asked about must not crash the process.
  const excludedLoad = sources.excludedRanges().then(
    (ranges) => {
      excluded = Object.freeze(ranges.map((range) => Object.freeze({ ...range })));
      return null;
    },
    (error: unknown) => error,
  );

  const store = (listeners: readonly Listener[] | null, readAt: number): void => {
    // A slow background read must not replace a newer synchronous one.
    if (snapshot === undefined || readAt >= snapshot.readAt) snapshot = { listeners, readAt };
  };

  const refreshInBackground = (): Promise<void> => {
    if (inFlight) return inFlight;
    const startedAt = now();
    inFlight = sources
      .listenersAsync()
      .then(
        (listeners) => store(listeners, startedAt),
        () => {}, // keep the old read; the next stale call reads synchronously
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const current = (): Snapshot => {
    const at = now();
    if (snapshot !== undefined) {
      const age = at - snapshot.readAt;
      if (age <= cacheMs) return snapshot;
      if (age <= cacheMs + staleMs) {
        void refreshInBackground();
        return snapshot;
      }
    }
    store(sources.listeners(), at);
    return snapshot!;
  };

  return {
    listeners: () => current().listeners,
    listeningPorts: () => {
      const snap = current();
      if (snap.ports === undefined) {
        snap.ports =
          snap.listeners === null ? null : new Set(snap.listeners.map((listener) => listener.port));
      }
      return snap.ports;
    },
    ephemeralRange: () => {
      if (ephemeral === undefined) {
        const range = sources.ephemeralRange();
        ephemeral = { range: range === null ? null : Object.freeze({ ...range }) };
      }
      return ephemeral.range;
    },
    excludedRanges: () => excluded,
    refresh: () => {
      const age = snapshot === undefined ? Number.POSITIVE_INFINITY : now() - snapshot.readAt;
      if (age <= cacheMs) return Promise.resolve();
      // A usable older read is served now while a new one runs on the thread pool.
      const pending = refreshInBackground();
      return age <= cacheMs + staleMs ? Promise.resolve() : pending;
    },
    ready: async () => {
      const error = await excludedLoad;
      if (error !== null) throw error;
    },
  };
}
