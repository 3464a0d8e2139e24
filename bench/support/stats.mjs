/**
 * Small statistics for the harness: medians, percentiles and a microsecond
 * stopwatch. Figures are always medians over repetitions, because absolute
 * times on a shared 2-core machine drift by 1.5x between runs.
 */

/** The value below which `p` percent of `values` fall (nearest rank); NaN for no values. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median of `values` (mean of the middle two for an even count); NaN for no values. */
export function median(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median, p99 and mean of one run's samples. */
export function summarize(samples) {
  return {
    median: median(samples),
    mean: samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : Number.NaN,
    p99: percentile(samples, 99),
    max: Math.max(...samples),
    n: samples.length,
  };
}

/** Microseconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function microsSince(start) {
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** berth's figure divided by a peer's, or NaN when either is missing. */
export function ratio(berth, peer) {
  if (!Number.isFinite(berth) || !Number.isFinite(peer) || peer === 0) return Number.NaN;
  return berth / peer;
}

/** Rotates `items` by `by` places: each repetition starts with another library, so drift spreads evenly. */
export function rotate(items, by) {
  const k = ((by % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * A repeatable stream of numbers in [0, 1) from `seed` (mulberry32): orders that look
 * random yet come out the same in every run.
 */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `items` in an order drawn from `random` (Fisher-Yates). Unlike {@link rotate}, which
 * keeps every item behind the same neighbour, each item follows each other one about
 * equally often: what a library leaves behind (sockets closing, the thread pool's work)
 * lands on whichever runs next.
 */
export function shuffled(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
