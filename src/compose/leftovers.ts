/**
 * What a command leaves running after `berth run` forwarded it a signal.
 * `berth run web -- npm run dev` given SIGTERM (a `kill`, a process manager)
 * forwards it to npm, npm to `sh -c vite`, and sh dies without passing it on:
 * vite, orphaned, keeps the port after berth run released its lease. (A
 * terminal's Ctrl-C reaches the whole foreground group, so there nothing is
 * left.) berth run notes the command's tree when it forwards a signal and,
 * once the command exited, stops what is still running of it: the same pid
 * with the same start time, never a process that reused the pid.
 */
import type { LeaseOwner } from '../core/types.js';
import type { Adapters } from './context.js';

/** How long the processes of a signalled tree may take to exit on their own before berth stops them, in milliseconds. */
export const LEFTOVER_GRACE_MS = 2_000;

/** How long a leftover has between SIGTERM and SIGKILL, in milliseconds. */
export const LEFTOVER_STOP_MS = 3_000;

/** How often a signalled tree is looked at while it exits, in milliseconds. */
const POLL_MS = 50;

type TreeAdapters = Pick<Adapters, 'tree' | 'processes' | 'stopper' | 'now'>;

/**
 * The processes below `root` now, each with its start time (empty where the
 * platform cannot list them).
 *
 * @example
 * const tree = treeBelow(pm.adapters, child.pid); // [{ pid: 4250, startTime: '9001' }, ...]
 */
export function treeBelow(adapters: TreeAdapters, root: number): LeaseOwner[] {
  const below = adapters.tree.below?.(root) ?? [];
  return below.map((pid) => adapters.processes.owner(pid)).filter((p): p is LeaseOwner => p !== null);
}

/** Options of {@link stopLeftovers}. */
export interface LeftoverOptions {
  sleep: (ms: number) => Promise<void>;
  /** Default {@link LEFTOVER_GRACE_MS}. */
  graceMs?: number;
}

/**
 * Waits for `tree` (noted by {@link treeBelow}) to exit, up to `graceMs`, then
 * stops each process still running (SIGTERM, SIGKILL after
 * {@link LEFTOVER_STOP_MS}). Resolves with the processes it stopped. A process
 * berth may not signal (another user's) is left alone.
 *
 * @example
 * const left = await stopLeftovers(pm.adapters, tree, { sleep }); // [{ pid: 4251, startTime: '9003' }]
 */
export async function stopLeftovers(
  adapters: TreeAdapters,
  tree: readonly LeaseOwner[],
  options: LeftoverOptions,
): Promise<LeaseOwner[]> {
  const same = (p: LeaseOwner) => {
    const now = adapters.processes.owner(p.pid);
    return now !== null && now.startTime === p.startTime;
  };
  const deadline = adapters.now() + (options.graceMs ?? LEFTOVER_GRACE_MS);
  let left = tree.filter(same);
  while (left.length > 0 && adapters.now() < deadline) {
    await options.sleep(POLL_MS);
    left = left.filter(same);
  }
  const stopped = await Promise.all(
    left.map(async (p) => {
      try {
        const outcome = await adapters.stopper.stop(p.pid, {
          force: true,
          graceMs: LEFTOVER_STOP_MS,
          stillOwnsPort: () => same(p),
        });
        return outcome === 'stopped' || outcome === 'killed' ? p : null;
      } catch {
        // Refused (another user's process): not berth's to stop.
        return null;
      }
    }),
  );
  return stopped.filter((p): p is LeaseOwner => p !== null);
}
