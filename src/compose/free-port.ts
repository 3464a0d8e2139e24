/**
 * Freeing a port (`berth free`): find who listens, stop those processes parents
 * first, then wait for the kernel to close their sockets. Only the user's own
 * processes, never pid 1, berth itself or its parent (the stopper refuses them);
 * ownership of the port is re-checked right before each signal. Every fact
 * comes through the adapters: a fresh read of the listening sockets, their
 * holders, the process tree, the stopper and the clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { descendsFrom } from '../core/diagnose.js';
import type { PortHolder, PortHolders, StopOutcome } from '../core/facts.js';
import { isBerthError } from '../errors.js';
import type { Adapters } from './context.js';

/**
 * How long to wait for the kernel to close a stopped process's sockets, in
 * milliseconds. The thread-group leader of a multi-threaded process (node)
 * shows as exited while its other threads still run their exit and hold the
 * fd table, so the listening socket can outlive the "exited" state briefly.
 */
const SOCKET_RELEASE_WAIT_MS = 1000;

/** How often that wait re-reads the kernel's table, in milliseconds. */
const SOCKET_RELEASE_POLL_MS = 25;

/** The adapters freeing a port uses. */
export type FreePortAdapters = Pick<Adapters, 'freshListeners' | 'holders' | 'tree' | 'stopper' | 'now'>;

/** Options of {@link freePort}. */
export interface FreePortOptions {
  /** Send SIGKILL to a process still running `graceMs` after SIGTERM. */
  force: boolean;
  /** Wait after SIGTERM, in milliseconds. */
  graceMs: number;
}

/** What happened to one process. */
export interface StopAttempt {
  holder: PortHolder;
  outcome: StopOutcome | 'refused';
  /** Why the stopper refused (`E_REFUSED`'s message), else `null`. */
  refusal: string | null;
}

/** What {@link freePort} found and did. */
export interface FreePortReport {
  port: number;
  /** Who listened before any signal. */
  before: PortHolders;
  /** One per distinct process, in the order they were stopped. */
  attempts: StopAttempt[];
  /** Who listens after the signals (the same as `before` when nothing listened). */
  after: PortHolders;
  /** A process was refused or survived. */
  failed: boolean;
  /** Something still listens on the port. */
  stillHeld: boolean;
}

/**
 * The distinct processes to stop, parents before their children (stopping a
 * parent often takes its workers with it; they then count as gone).
 *
 * @example
 * stopOrder(holders, (pid) => parents.get(pid) ?? null).map((h) => h.pid);
 */
export function stopOrder(
  holders: readonly PortHolder[],
  parentOf: (pid: number) => number | null,
): PortHolder[] {
  const unique = [...new Map(holders.map((h) => [h.pid, h])).values()];
  const depth = (h: PortHolder) =>
    unique.filter((other) => other.pid !== h.pid && descendsFrom(h.pid, other.pid, parentOf) === true).length;
  return unique
    .map((h) => ({ h, d: depth(h) }))
    .sort((a, b) => a.d - b.d || a.h.pid - b.h.pid)
    .map(({ h }) => h);
}

/** Who listens now, from a fresh read of the kernel's table (no cache: the answer must be current). */
async function holdersNow(adapters: FreePortAdapters, port: number): Promise<PortHolders> {
  return adapters.holders.find(port, await adapters.freshListeners.read());
}

const isEmpty = (found: PortHolders) => found.holders.length + found.hidden.length === 0;

async function stopOne(
  adapters: FreePortAdapters,
  holder: PortHolder,
  port: number,
  options: FreePortOptions,
): Promise<StopAttempt> {
  try {
    const outcome = await adapters.stopper.stop(holder.pid, {
      force: options.force,
      graceMs: options.graceMs,
      uid: holder.uid,
      stillOwnsPort: async () => (await holdersNow(adapters, port)).holders.some((h) => h.pid === holder.pid),
    });
    return { holder, outcome, refusal: null };
  } catch (error) {
    if (!isBerthError(error, 'E_REFUSED')) throw error;
    return { holder, outcome: 'refused', refusal: error.message };
  }
}

/** Who listens after the signals; when every process ended, waits for the kernel to close their sockets. */
async function settled(adapters: FreePortAdapters, port: number, allEnded: boolean): Promise<PortHolders> {
  const deadline = adapters.now() + (allEnded ? SOCKET_RELEASE_WAIT_MS : 0);
  for (;;) {
    const now = await holdersNow(adapters, port);
    if (isEmpty(now) || adapters.now() >= deadline) return now;
    await sleep(SOCKET_RELEASE_POLL_MS);
  }
}

/**
 * Stops every visible process listening on `port` (see the module comment) and
 * reports who listens afterwards. Hidden listeners (another user's, another pid
 * namespace) are reported, never signalled.
 *
 * @example
 * const report = await freePort(createAdapters(), 3000, { force: false, graceMs: 3000 });
 * if (report.stillHeld) console.log('port 3000 is still held');
 */
export async function freePort(
  adapters: FreePortAdapters,
  port: number,
  options: FreePortOptions,
): Promise<FreePortReport> {
  const before = await holdersNow(adapters, port);
  const attempts: StopAttempt[] = [];
  for (const holder of stopOrder(before.holders, (pid) => adapters.tree.parentOf(pid))) {
    attempts.push(await stopOne(adapters, holder, port, options));
  }
  const failed = attempts.some((a) => a.outcome === 'refused' || a.outcome === 'survived');
  // Only a signalled process's sockets are worth waiting for: a hidden listener was never signalled.
  const after = isEmpty(before) ? before : await settled(adapters, port, attempts.length > 0 && !failed);
  return { port, before, attempts, after, failed, stillHeld: !isEmpty(after) };
}
