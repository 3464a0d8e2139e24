/**
 * What the test runners print of berth's errors. vitest, Jest and Playwright
 * print a thrown error's `stack`; for a BerthError (a bad option, a config
 * problem, a service that did not come up) that is a trace into berth's
 * bundled chunks, which says nothing the message does not. The entry points
 * the runners call rethrow a BerthError with a stack of its message and
 * details only; anything else (a bug) keeps its stack.
 */

/**
 * `error`, with its stack cut to `BerthError: message` and its details when it
 * is a BerthError (checked by name: each runner entry is a bundle of its own).
 *
 * @example
 * try { ... } catch (error) { throw withoutStack(error); }
 */
export function withoutStack(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'BerthError') return error;
  const details = (error as { details?: unknown }).details;
  const lines = Array.isArray(details)
    ? details.filter((d): d is string => typeof d === 'string' && !error.message.includes(d))
    : [];
  error.stack = [`${error.name}: ${error.message}`, ...lines.map((d) => `  - ${d}`)].join('\n');
  return error;
}

/**
 * Runs `work` (a runner's setup or teardown), rethrowing a BerthError without its stack.
 *
 * @example
 * export const setup = () => atEntry(() => startTestRun(options));
 */
export async function atEntry<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw withoutStack(error);
  }
}

/**
 * {@link atEntry} for synchronous work (Playwright's config).
 *
 * @example
 * export const berthWebServers = (options) => atEntrySync(() => plan(options));
 */
export function atEntrySync<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw withoutStack(error);
  }
}
