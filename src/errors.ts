/**
 * The one error type berth throws on purpose. Every failure a user can cause or
 * meet carries a stable `code`, typed data and a message that ends with what to
 * do next. The CLI (src/cli/exit.ts) and the HTTP layer (src/http/errors.ts) each
 * map codes to exit codes / statuses in exactly one place, and both print an
 * error as the one JSON shape {@link errorBody} builds.
 */

/** Stable error codes. Tools may match on these; they never change meaning. */
export type BerthErrorCode =
  /** The configuration file is invalid (every problem is listed in `details`). */
  | 'E_CONFIG'
  /** A bad command-line argument or API request. */
  | 'E_USAGE'
  /** A service name that the configuration does not declare. */
  | 'E_UNKNOWN_SERVICE'
  /** No port could be found that satisfies the service's rules. */
  | 'E_NO_PORT'
  /** The wanted port is held (by another lease or a foreign process) and the strategy forbids moving. */
  | 'E_PORT_HELD'
  /** The registry stayed locked by other processes for longer than the lock timeout. */
  | 'E_REGISTRY_LOCKED'
  /** The registry file is unreadable, from a newer berth, or a migration failed. */
  | 'E_REGISTRY'
  /** A probe failed for a reason other than "port busy" (bad host, permissions, ...). */
  | 'E_PROBE'
  /** A wait or a health check ran out of time. */
  | 'E_TIMEOUT'
  /** Something asked for is not there (a lease, a listener). */
  | 'E_NOT_FOUND'
  /** A name matched several projects; the caller must say which. */
  | 'E_AMBIGUOUS'
  /** The operation is refused (permissions, another user's process, security checks). */
  | 'E_REFUSED'
  /** A service berth started for a test run exited or failed before it was ready. */
  | 'E_SERVICE_FAILED';

/** Options for {@link BerthError}. */
export interface BerthErrorOptions {
  /** Structured facts about the failure (port, service, holder pid, ...). */
  data?: Record<string, unknown>;
  /** Individual problems, for errors that collect several (config validation). */
  details?: readonly string[];
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * An expected failure with a stable code.
 *
 * @example
 * throw new BerthError('E_NO_PORT', 'no free port for server in 3000-3999. Widen services.server.range.', {
 *   data: { service: 'server' },
 * });
 */
export class BerthError extends Error {
  readonly code: BerthErrorCode;
  readonly data: Record<string, unknown>;
  readonly details: readonly string[];

  constructor(code: BerthErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BerthError';
    this.code = code;
    this.data = options.data ?? {};
    this.details = options.details ?? [];
  }
}

/** True when `error` is a {@link BerthError}, optionally of the given code. */
export function isBerthError(error: unknown, code?: BerthErrorCode): error is BerthError {
  return error instanceof BerthError && (code === undefined || error.code === code);
}

/**
 * An error as JSON, the same for `--json` on the CLI and for the HTTP API. Both
 * `data` and `details` are always present (`{}` and `[]` when there is nothing).
 */
export interface ErrorBody {
  success: false;
  error: {
    /** A {@link BerthErrorCode}, or a code only the CLI or HTTP layer produces (`E_INTERNAL`, `E_TOO_LARGE`, ...). */
    code: string;
    /** What went wrong, ending with what to do. */
    message: string;
    /** Structured facts (port, service, holder pid, ...). */
    data: Record<string, unknown>;
    /** Individual problems, for errors that collect several (config validation). */
    details: readonly string[];
  };
}

/**
 * Builds the one JSON shape of an error.
 *
 * @example
 * errorBody('E_UNKNOWN_SERVICE', 'unknown service "nope". Run `berth ls`.')
 * // { success: false, error: { code: 'E_UNKNOWN_SERVICE', message: '...', data: {}, details: [] } }
 */
export function errorBody(
  code: string,
  message: string,
  extra: Pick<BerthErrorOptions, 'data' | 'details'> = {},
): ErrorBody {
  return { success: false, error: { code, message, data: extra.data ?? {}, details: extra.details ?? [] } };
}

/** The message for a failure berth did not expect (a bug): what it was, then what to do. */
export function unexpectedMessage(error: unknown): string {
  return `unexpected error: ${error instanceof Error ? error.message : String(error)}. Please report this.`;
}
