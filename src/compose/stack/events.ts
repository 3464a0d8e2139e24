/**
 * What a running stack reports, one event at a time: the CLI prints them as
 * prefixed lines or, with `--json`, one JSON object per line.
 */
import type { Decision } from '../../core/types.js';

/** A service's line of output: a whole line, never a piece of one. */
export interface OutputEvent {
  type: 'output';
  service: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** One service in the summary printed when everything is ready. */
export interface UpService {
  service: string;
  port: number;
  url: string;
  /** Its name through berth's proxy (`http://api.shop.localhost:4939`), `null` when it has none. */
  name: string | null;
  /** Milliseconds from its (last) start to ready; `null` for a one-shot that finished. */
  readyMs: number | null;
}

/** Everything a stack reports. `service` is a unit's name (the service with the command). */
export type StackEvent =
  /** The ports were leased, as `berth assign` decides them. */
  | { type: 'assigned'; decisions: readonly Decision[] }
  | { type: 'starting'; service: string; port: number; pid: number; command: string; restarts: number }
  /** A service berth does not start (no command) that others wait for. */
  | { type: 'watching'; service: string; port: number }
  /** What berth added to the command so its tool listens on the port (or why it added nothing): one line. */
  | { type: 'port-args'; service: string; tool: string | null; args: readonly string[]; message: string }
  /**
   * A process of the service's own tree listens on another port (`listening`)
   * while berth's `port` is not bound: which process, and the fix.
   */
  | {
      type: 'wrong-port';
      service: string;
      port: number;
      pid: number;
      command: string | null;
      listening: number;
      fix: string;
    }
  | { type: 'ready'; service: string; port: number; url: string; ms: number }
  /** Still not ready after a while: why (nothing listens yet, the check fails). */
  | { type: 'waiting'; service: string; port: number; reason: string }
  | OutputEvent
  | { type: 'exited'; service: string; code: number | null; signal: string | null }
  | { type: 'restarting'; service: string; delayMs: number; restarts: number; maxRestarts: number | null }
  /** A process berth did not start took the port before the service bound it: it moves. */
  | { type: 'moved'; service: string; from: number; to: number; reason: string }
  | { type: 'stopping'; service: string; signal: string }
  /** The service outlived its stop timeout (or a second Ctrl-C came): SIGKILL. */
  | { type: 'killed'; service: string; afterMs: number }
  | { type: 'stopped'; service: string; code: number | null; signal: string | null }
  /** Every service is ready (or finished its one-shot work). */
  | { type: 'up'; services: readonly UpService[] }
  /** This service stops the stack. */
  | { type: 'failed'; service: string; reason: string };
