/**
 * Request bodies of the mutating routes: JSON only (a browser cannot send
 * `application/json` cross-site without a preflight, which the daemon never
 * approves), capped in size, and checked field by field.
 */
import { HttpError } from './errors.js';
import { type HttpRequest, headerValue } from './message.js';

/** Largest request body accepted: the API's bodies are a few names. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Parses a JSON object body: 415 unless `Content-Type: application/json`, 413 over
 * {@link MAX_BODY_BYTES}, 400 for invalid JSON, a non-object or unknown fields.
 *
 * @example
 * const body = readJsonBody(request, ['project', 'service']);
 */
export function readJsonBody(request: HttpRequest, fields: readonly string[]): Record<string, unknown> {
  const type = headerValue(request, 'content-type');
  const media = (type ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json') {
    throw new HttpError(
      'E_CONTENT_TYPE',
      `content type "${type ?? ''}" is not accepted. Send a JSON body with "Content-Type: application/json".`,
    );
  }
  const body = request.body ?? Buffer.alloc(0);
  if (body.length > MAX_BODY_BYTES) {
    throw new HttpError(
      'E_TOO_LARGE',
      `the request body is over ${MAX_BODY_BYTES} bytes. Send only the fields the route takes.`,
      { headers: { connection: 'close' } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError('E_USAGE', `the body is not valid JSON (${(error as Error).message}). Fix the JSON.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(
      'E_USAGE',
      `the body must be a JSON object with ${fields.join(', ')}. Send an object.`,
    );
  }
  const record = parsed as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !fields.includes(k));
  if (unknown.length > 0) {
    throw new HttpError(
      'E_USAGE',
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}. This route takes ${fields.join(', ')}.`,
    );
  }
  return record;
}

/** A string field: `undefined` when absent, 400 when present but not a non-empty string. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new HttpError(
      'E_USAGE',
      `"${field}" must be a non-empty string, got ${JSON.stringify(value)}. Fix the field.`,
    );
  }
  return value;
}

/** A required string field: 400 when absent. */
export function requiredString(body: Record<string, unknown>, field: string, example: string): string {
  const value = optionalString(body, field);
  if (value === undefined) {
    throw new HttpError('E_USAGE', `"${field}" is missing. Add it, e.g. "${field}": "${example}".`);
  }
  return value;
}
