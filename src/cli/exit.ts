/**
 * The one place where errors become exit codes and messages. Nothing else in
 * berth decides an exit code; commands return or throw.
 *
 * Exit codes: 0 ok, 1 runtime failure (no port, port held, registry locked,
 * something unhealthy), 2 usage or config error.
 */
import { BerthError, type BerthErrorCode, type ErrorBody, errorBody, unexpectedMessage } from '../errors.js';

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a runtime failure. */
export const EXIT_FAILURE = 1;
/** Exit code for a usage or configuration error. */
export const EXIT_USAGE = 2;

const USAGE_CODES: ReadonlySet<BerthErrorCode> = new Set(['E_CONFIG', 'E_USAGE', 'E_UNKNOWN_SERVICE']);

/** The exit code for an error thrown by a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof BerthError) return USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
  return EXIT_FAILURE;
}

/** Any thrown value as the one JSON error shape ({@link errorBody}), as the HTTP API answers errors too. */
export function errorJson(error: unknown): ErrorBody {
  if (error instanceof BerthError) return errorBody(error.code, error.message, error);
  return errorBody('E_INTERNAL', unexpectedMessage(error));
}

/** The lines to print for an error: the message, its details, never a stack trace unless BERTH_DEBUG is set. */
export function errorLines(error: unknown): string[] {
  if (error instanceof BerthError) {
    const unseen = error.details.filter((d) => !error.message.includes(d));
    return [`berth: ${error.message}`, ...unseen.map((d) => `  - ${d}`)];
  }
  const lines = [`berth: unexpected error: ${(error as Error)?.message ?? String(error)}`];
  if (process.env.BERTH_DEBUG && error instanceof Error && error.stack) lines.push(error.stack);
  else lines.push('  (set BERTH_DEBUG=1 for a stack trace, and please report this)');
  return lines;
}
