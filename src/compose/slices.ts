/**
 * Time slices for bursts of calls. Every step of a getPort call settles on
 * the microtask queue (SQLite is synchronous, a bind probe reports on
 * `process.nextTick`), so 500 calls at once in one `Promise.all`, or a loop of
 * awaited calls, never gave the event loop a turn: the caller's timers and I/O
 * waited for the whole burst (70 ms for 1 x 500 here; issue #8 wants no more
 * than 5 ms). A call that finishes after more than {@link SLICE_MS} of work
 * since the loop last turned waits for one turn (`setImmediate`) first.
 *
 * A call that starts after the loop has turned starts a new slice, so a lone
 * call never waits.
 */

/** Work between two turns of the event loop past which a finishing call yields, in milliseconds. */
export const SLICE_MS = 1;

let sliceStart = 0;
/** A `setImmediate` is pending that marks the next turn of the loop. */
let marking = false;

function turned(): void {
  marking = false;
  sliceStart = performance.now();
}

/** Call when a call starts: starts a slice unless one is running. */
export function startSlice(): void {
  if (marking) return;
  marking = true;
  sliceStart = performance.now();
  setImmediate(turned).unref();
}

/** Whether this slice is used up; starts a new one when the loop turned since it began. */
function sliceUsedUp(): boolean {
  if (!marking) {
    startSlice();
    return false;
  }
  return performance.now() - sliceStart >= SLICE_MS;
}

/**
 * Call before a step that may be one of many at once: resolves at once within the
 * slice; past it, after the event loop's turns (one each time the slice is used up
 * again: the calls resumed by one turn go on for one slice, the rest wait again).
 *
 * @example
 * startSlice(); const port = await lease(); await endOfSlice(); await probe(port);
 */
export async function endOfSlice(): Promise<void> {
  while (sliceUsedUp()) await new Promise<void>((resolve) => setImmediate(resolve));
}
