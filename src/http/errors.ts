/**
 * The one place where errors become HTTP statuses. Every failure leaves the
 * API in the one JSON error shape ({@link errorBody}, the CLI's `--json` shape too):
 * `{ "success": false, "error": { "code": "E_...", "message": "...", "data": {}, "details": [] } }`.
 */
import { BerthError, type BerthErrorCode, errorBody, unexpectedMessage } from '../errors.js';
import { API_HEADERS } from './headers.js';
import type { HttpResponse } from './message.js';

/** Codes only the HTTP layer produces, beside every {@link BerthErrorCode}. */
export type HttpOnlyCode =
  | 'E_CONTENT_TYPE'
  | 'E_TOO_LARGE'
  | 'E_METHOD'
  | 'E_INTERNAL'
  /** The daemon serves as many event streams as it will; retry after `Retry-After` seconds. */
  | 'E_BUSY';

/** Every code an API error may carry. */
export type HttpErrorCode = BerthErrorCode | HttpOnlyCode;

const STATUS: Record<HttpErrorCode, number> = {
  E_USAGE: 400,
  E_CONFIG: 422,
  E_UNKNOWN_SERVICE: 404,
  E_NOT_FOUND: 404,
  E_PORT_HELD: 409,
  E_AMBIGUOUS: 409,
  E_NO_PORT: 503,
  E_REGISTRY_LOCKED: 503,
  E_REGISTRY: 500,
  E_PROBE: 500,
  E_TIMEOUT: 504,
  E_REFUSED: 403,
  E_SERVICE_FAILED: 502,
  E_CONTENT_TYPE: 415,
  E_TOO_LARGE: 413,
  E_METHOD: 405,
  E_INTERNAL: 500,
  E_BUSY: 503,
};

/** The status for an error code. */
export function statusFor(code: HttpErrorCode): number {
  return STATUS[code];
}

/**
 * An error that knows its own response.
 *
 * @example
 * throw new HttpError('E_CONTENT_TYPE', 'send Content-Type: application/json.');
 */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly status: number;
  readonly data: Record<string, unknown>;
  readonly details: readonly string[];
  readonly headers: Record<string, string>;

  constructor(
    code: HttpErrorCode,
    message: string,
    options: {
      data?: Record<string, unknown>;
      details?: readonly string[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.status = statusFor(code);
    this.data = options.data ?? {};
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }

  /** The JSON response for this error. */
  response(): HttpResponse {
    return {
      status: this.status,
      headers: { ...API_HEADERS, ...this.headers },
      body: JSON.stringify(errorBody(this.code, this.message, this)),
    };
  }
}

/** Any thrown value as an {@link HttpError}: a BerthError keeps its code, data and details; anything else is a 500. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof BerthError) {
    return new HttpError(error.code, error.message, { data: error.data, details: error.details });
  }
  return new HttpError('E_INTERNAL', unexpectedMessage(error));
}
