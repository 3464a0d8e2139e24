/**
 * Live events. Every berth process appends lease events to the registry's
 * shared log; the daemon notices new ones by polling `lastEventId()` (one
 * indexed read) and forwards them as server-sent events. Each event's id is the
 * registry's id, so a client resumes with `Last-Event-ID` from the log itself.
 */
import type { RegistryEvent, RegistryReader } from '../core/registry.js';
import type { StreamBody, StreamSink } from './message.js';

/** How often the daemon looks for events written by other processes. */
export const EVENT_POLL_MS = 200;

/** Comment lines keep idle streams open through proxies and let the client notice a dead daemon. */
export const HEARTBEAT_MS = 15_000;

/** Events read per query while replaying or catching up. */
const PAGE = 500;

/** The reconnection delay the client is told to use. */
const RETRY_MS = 2_000;

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
}

/** Follows the registry's event log and fans new events out to streams. */
export class EventHub {
  private readonly registry: RegistryReader;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly subscribers = new Set<Subscriber>();
  private readonly timers: NodeJS.Timeout[] = [];
  private cursor: number;
  private lastSync: number;

  constructor(options: EventHubOptions) {
    this.registry = options.registry;
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? EVENT_POLL_MS;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
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
   * or starts at the newest event when `since` is `null`.
   */
  stream(since: number | null): StreamBody {
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
