/**
 * Time slices for bursts of calls. Every step of a getPort call settles on
 * the microtask queue (SQLite is synchronous, a bind probe reports on
 * `process.nextTick`), so 500 calls at once in one `Promise.all` never gave
 * the event loop a turn: the caller's timers and I/O waited for the whole
 * burst (70 ms for 1 x 500 here; issue #8 wants no more than 5 ms). While
 * other calls are in flight, a call that reaches {@link endOfSlice} after more
 * than {@link SLICE_MS} of work since the loop last turned waits for a turn
 * (`setImmediate`) first.
 *
 * A lone call never waits: a sequential caller's latency is not taxed, and
 * what other code did since the last turn is not counted against it.
 */

/** Work between two turns of the event loop past which a call of a burst yields, in milliseconds. */
export const SLICE_MS = 1;

/** Calls between {@link callStarted} and {@link callEnded}. */
let inFlight = 0;
let sliceStart = 0;
/** A `setImmediate` is pending that marks the next turn of the loop (and so ends the slice). */
let marking = false;

function turned(): void {
  marking = false;
}

/** Call when a call starts; pair it with {@link callEnded} in a `finally`. */
export function callStarted(): void {
  inFlight++;
}

/** Call when a call has settled. */
export function callEnded(): void {
  inFlight--;
}

/** Calls started and not yet settled (in every registry of this process). */
export function callsInFlight(): number {
  return inFlight;
}

/**
 * Call before a step that may be one of many at once (a probe, the next refill):
 * resolves at once for a lone call or within the slice; past the slice, after
 * the event loop's turns (the calls resumed by one turn go on for one slice,
 * the rest wait again).
 *
 * @example
 * callStarted();
 * try { const port = await lease(); await endOfSlice(); await probe(port); } finally { callEnded(); }
 */
export async function endOfSlice(): Promise<void> {
  while (inFlight > 1) {
    if (!marking) {
      // The loop turned since the slice began (or none began): a new slice starts now.
      marking = true;
      sliceStart = performance.now();
      setImmediate(turned).unref();
      return;
    }
    if (performance.now() - sliceStart < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
