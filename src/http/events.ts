/**
 * Live events. Every berth process appends lease events to the registry's
 * shared log; the daemon notices new ones by polling `lastEventId()` (one
 * indexed read) and forwards them as server-sent events. Each event's id is the
 * registry's id, so a client resumes with `Last-Event-ID` from the log itself.
 */
import type { RegistryEvent, RegistryReader } from '../core/registry.js';
import { HttpError } from './errors.js';
import type { StreamBody, StreamSink } from './message.js';

/** How often the daemon looks for events written by other processes. */
export const EVENT_POLL_MS = 200;

/** Comment lines keep idle streams open through proxies and let the client notice a dead daemon. */
export const HEARTBEAT_MS = 15_000;

/** Events read per query while replaying or catching up. */
const PAGE = 500;

/** The reconnection delay the client is told to use (`retry:`, and `Retry-After` when the streams are full). */
const RETRY_MS = 2_000;

/**
 * Open event streams the daemon serves at once. Each holds a socket, gets every
 * heartbeat and event write, and may replay the whole log when it opens, so an
 * unbounded number (a looping script, a page reconnecting in a hundred tabs) is
 * a cheap way to exhaust the daemon's file descriptors and event loop. A
 * dashboard tab takes one; 64 leaves room for many tabs and scripts.
 */
export const MAX_EVENT_STREAMS = 64;

/** One server-sent event frame. */
export function sseFrame(event: RegistryEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

interface Subscriber {
  sink: StreamSink;
  /** Id of the newest event this subscriber has been sent. */
  cursor: number;
}

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  registry: RegistryReader;
  /** Epoch milliseconds (for the lazy poll). */
  now?: () => number;
  pollMs?: number;
  heartbeatMs?: number;
  /** Streams open at once; one more is refused with 503 `E_BUSY`. Default {@link MAX_EVENT_STREAMS}. */
  maxStreams?: number;
}

/** Follows the registry's event log and fans new events out to streams. */
export class EventHub {
  private readonly registry: RegistryReader;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  /** Streams open at once; one more is refused. */
  readonly maxStreams: number;
  private readonly subscribers = new Set<Subscriber>();
  private readonly timers: NodeJS.Timeout[] = [];
  private cursor: number;
  private lastSync: number;

  constructor(options: EventHubOptions) {
    this.registry = options.registry;
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? EVENT_POLL_MS;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.maxStreams = options.maxStreams ?? MAX_EVENT_STREAMS;
    this.cursor = this.registry.lastEventId();
    this.lastSync = this.now();
  }

  /** Id of the newest event seen: changes whenever a lease changes, so caches key on it. */
  get version(): number {
    return this.cursor;
  }

  /** Starts polling and heartbeats (the daemon); without it, {@link maybeSync} polls lazily. */
  start(): void {
    if (this.timers.length > 0) return;
    const poll = setInterval(() => this.sync(), this.pollMs);
    const beat = setInterval(() => {
      for (const s of this.subscribers) s.sink.write(': heartbeat\n\n');
    }, this.heartbeatMs);
    poll.unref();
    beat.unref();
    this.timers.push(poll, beat);
  }

  /** Polls if the last poll is older than the poll interval: keeps request paths fresh without a timer. */
  maybeSync(): void {
    if (this.now() - this.lastSync >= this.pollMs) this.sync();
  }

  /** Reads events newer than the last seen and sends them to every stream. */
  sync(): void {
    this.lastSync = this.now();
    const last = this.registry.lastEventId();
    if (last === this.cursor) return;
    if (last < this.cursor) {
      // The log was reset (a new registry file): start over from its end.
      this.cursor = last;
      return;
    }
    for (;;) {
      const events = this.registry.eventsSince(this.cursor, PAGE);
      if (events.length === 0) break;
      for (const s of this.subscribers) this.deliver(s, events);
      this.cursor = events[events.length - 1]!.id;
      if (events.length < PAGE) break;
    }
  }

  private deliver(subscriber: Subscriber, events: readonly RegistryEvent[]) {
    let chunk = '';
    for (const e of events) {
      if (e.id <= subscriber.cursor) continue;
      chunk += sseFrame(e);
      subscriber.cursor = e.id;
    }
    if (chunk !== '') subscriber.sink.write(chunk);
  }

  /**
   * An event stream for one client: replays the log after `since` (from `Last-Event-ID`),
   * or starts at the newest event when `since` is `null`. Throws 503 `E_BUSY` with
   * `Retry-After` when {@link maxStreams} streams are open; a stream frees its slot
   * when it stops. Counting open streams is exact because the node adapter opens a
   * stream in the same tick the app answers, before any other request runs.
   */
  stream(since: number | null): StreamBody {
    if (this.subscribers.size >= this.maxStreams) {
      throw new HttpError(
        'E_BUSY',
        `${this.subscribers.size} event streams are open, the most the daemon serves at once. Close a dashboard tab or another client's stream, then retry.`,
        {
          data: { streams: this.subscribers.size, maxStreams: this.maxStreams },
          headers: { 'retry-after': String(RETRY_MS / 1000) },
        },
      );
    }
    return {
      kind: 'stream',
      open: (sink) => {
        this.sync();
        const subscriber: Subscriber = { sink, cursor: since ?? this.cursor };
        sink.write(`retry: ${RETRY_MS}\n: connected\n\n`);
        // Replay up to the hub's cursor; later events arrive through sync().
        while (subscriber.cursor < this.cursor) {
          const events = this.registry
            .eventsSince(subscriber.cursor, PAGE)
            .filter((e) => e.id <= this.cursor);
          if (events.length === 0) break;
          this.deliver(subscriber, events);
        }
        subscriber.cursor = Math.max(subscriber.cursor, this.cursor);
        this.subscribers.add(subscriber);
        return () => {
          this.subscribers.delete(subscriber);
        };
      },
    };
  }

  /** Number of open streams. */
  get streams(): number {
    return this.subscribers.size;
  }

  /** Stops the timers and ends every stream. */
  close(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const s of this.subscribers) s.sink.end();
    this.subscribers.clear();
  }
}
