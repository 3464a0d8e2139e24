/**
 * Stopping one unit's process group: its `stopSignal` to the whole group,
 * then SIGKILL when it outlives `stopTimeout` (or at once when the user asks
 * a second time). Done when the leader exited and nothing of the group is left.
 */
import type { ProcessGroupRef, ProcessGroups } from '../../core/facts.js';
import type { StopSignal } from '../../core/types.js';

/** How often a stopping group is checked for members left, in milliseconds. */
export const STOP_POLL_MS = 50;

/** How long a SIGKILLed group may take to disappear before berth gives up on it, in milliseconds. */
export const KILL_WAIT_MS = 5_000;

/** Options of {@link stopGroup}. */
export interface StopGroupOptions {
  signal: StopSignal;
  timeoutMs: number;
  /** Resolves when the stop must not wait any longer (a second Ctrl-C). */
  hurry: Promise<void>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Told the moment SIGKILL goes out, with how long the group had. */
  onKill?: (afterMs: number) => void;
}

/** How a group went: after its stop signal, after SIGKILL (with how long it had), or it was already gone. */
export type GroupStop = { how: 'stopped' } | { how: 'killed'; afterMs: number } | { how: 'gone' };

/**
 * Stops `group` (see the module comment). `exited` is the leader's exit when
 * berth is its parent; without it (a group a dead `berth up` left) the group
 * itself is watched.
 *
 * @example
 * await stopGroup(groups, proc, proc.exited, { signal: 'SIGTERM', timeoutMs: 10_000, hurry, sleep, now });
 */
export async function stopGroup(
  groups: ProcessGroups,
  group: ProcessGroupRef,
  exited: Promise<unknown> | null,
  options: StopGroupOptions,
): Promise<GroupStop> {
  let leaderDone = exited === null;
  void exited?.then(() => {
    leaderDone = true;
  });
  const gone = () => leaderDone && !groups.alive(group);
  if (groups.signal(group, options.signal) === 'gone' && exited === null) return { how: 'gone' };
  let hurried = false;
  void options.hurry.then(() => {
    hurried = true;
  });
  const started = options.now();
  while (!gone()) {
    if (hurried || options.now() - started >= options.timeoutMs) {
      const afterMs = options.now() - started;
      groups.signal(group, 'SIGKILL');
      options.onKill?.(afterMs);
      const killedAt = options.now();
      while (!gone() && options.now() - killedAt < KILL_WAIT_MS) await options.sleep(STOP_POLL_MS);
      return { how: 'killed', afterMs };
    }
    await Promise.race([options.sleep(STOP_POLL_MS), options.hurry]);
  }
  return { how: 'stopped' };
}
