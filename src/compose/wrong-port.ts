/**
 * The wrong-port watch: while a service's tree has not bound berth's port,
 * look at the ports its processes listen on, and report one that stays on
 * another port for a while (src/core/wrong-port.ts says which count). It ends
 * when berth's port is bound (side ports opened after that, an inspector or
 * Gatsby's internal ports, are the tool's business) or when the caller stops it.
 */
import {
  isInspector,
  type StrayListener,
  WRONG_PORT_GRACE_MS,
  WRONG_PORT_POLL_MS,
} from '../core/wrong-port.js';
import type { Adapters } from './context.js';

/** Options of {@link watchWrongPort}. */
export interface WrongPortWatch {
  /** The service's process: the root of its tree. */
  root: number;
  /** berth's port for the service. */
  port: number;
  /** Ends the watch (the service is ready, exited or stopping). */
  signal: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  /** Called once per process and port. */
  onFound: (listener: StrayListener) => void;
  /** Default {@link WRONG_PORT_POLL_MS}. */
  intervalMs?: number;
  /** Default {@link WRONG_PORT_GRACE_MS}. */
  graceMs?: number;
}

/**
 * Watches until berth's port is bound by the tree or `signal` aborts; never rejects.
 *
 * @example
 * void watchWrongPort(adapters, { root: proc.pid, port, signal, sleep, now, onFound: (l) => warn(l) });
 */
export async function watchWrongPort(
  adapters: Pick<Adapters, 'treeSockets'>,
  watch: WrongPortWatch,
): Promise<void> {
  const firstSeen = new Map<string, number>();
  const reported = new Set<string>();
  const graceMs = watch.graceMs ?? WRONG_PORT_GRACE_MS;
  while (!watch.signal.aborted) {
    let listening: Awaited<ReturnType<Adapters['treeSockets']['listening']>>;
    try {
      listening = await adapters.treeSockets.listening(watch.root);
    } catch {
      return; // A warning is a courtesy: a /proc that cannot be read ends it quietly.
    }
    if (listening === null || watch.signal.aborted) return;
    if (listening.some((l) => l.port === watch.port)) return;
    const at = watch.now();
    for (const l of listening) {
      const key = `${l.pid}:${l.port}`;
      if (reported.has(key) || isInspector(l.command)) continue;
      const since = firstSeen.get(key) ?? at;
      firstSeen.set(key, since);
      if (at - since < graceMs) continue;
      reported.add(key);
      watch.onFound({ pid: l.pid, command: l.command, port: l.port });
    }
    try {
      await watch.sleep(watch.intervalMs ?? WRONG_PORT_POLL_MS, watch.signal);
    } catch {
      return;
    }
  }
}
