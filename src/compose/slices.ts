/**
 * Time slices for bursts of calls. Every step of a getPort call settles on
 * the microtask queue (SQLite is synchronous, a bind probe reports on
 * `process.nextTick`), so 500 calls at once in one `Promise.all` never gave
 * the event loop a turn: the caller's timers and I/O waited for the whole
 * burst (70 ms for 1 x 500 here; issue #8 wants no more than 5 ms). While
 * other calls are in flight, a call that checks {@link sliceWait} before its
 * probe after more than {@link SLICE_MS} of work since the loop last turned
 * (a batch of registry transactions counts) waits for a turn (`setImmediate`)
 * first.
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

/** Starts a slice now; the `setImmediate` that ends it marks the next turn of the loop. */
function startSlice(): void {
  marking = true;
  sliceStart = performance.now();
  setImmediate(turned).unref();
}

/**
 * Call before a step that may be one of many at once (a probe, the next refill), and
 * start the step in the same synchronous run when it returns `undefined`: a lone call,
 * or one within the slice, goes on at once. Past the slice it returns the wait, which
 * resolves after the event loop's turns (the calls resumed by one turn go on for one
 * slice, the rest wait again). The calls one batch answers all reach this check before
 * any of them has run its step: a check a microtask before the step (an `await` of it)
 * let them all through, 181 probes in one 17 ms stretch of a 1 x 500 burst (#22).
 *
 * @example
 * const wait = sliceWait();
 * if (wait) await wait;
 * const result = await probe(port); // begins in the same run as the check
 */
export function sliceWait(): Promise<void> | undefined {
  return mayGoOn() ? undefined : nextSlice();
}

/** Whether a call of a burst may run its step now; starts a slice if the loop turned since the last. */
function mayGoOn(): boolean {
  if (inFlight <= 1) return true;
  if (!marking) {
    // The loop turned since the slice began (or none began): a new slice starts now.
    startSlice();
    return true;
  }
  return performance.now() - sliceStart < SLICE_MS;
}

/** Resolves after the turns of the event loop it takes to get a place in a slice. */
async function nextSlice(): Promise<void> {
  do await new Promise<void>((resolve) => setImmediate(resolve));
  while (!mayGoOn());
}

/** {@link sliceWait}, awaited: for a step that begins after an `await` anyway. */
export async function endOfSlice(): Promise<void> {
  const wait = sliceWait();
  if (wait) await wait;
}

/**
 * Work of a burst that keeps the event loop begins now (a batch of registry transactions):
 * the slice, if none runs, starts here, so the probes of the calls the batch answers
 * count its time as theirs.
 */
export function burstWorkBegins(): void {
  if (inFlight > 1 && !marking) startSlice();
}
