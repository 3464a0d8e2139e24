/**
 * Response headers, decided once. No `Access-Control-Allow-*` header is ever
 * sent: the API is for the dashboard (same origin) and for tools with the token.
 */

/** Sent on every response. `no-referrer` keeps the token URL out of Referer headers. */
export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
});

/** The dashboard loads its script and style from itself only: no inline code, no frames, no forms. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Headers of a JSON API response: never cached, since it carries live state, and never
 * sniffed as anything but JSON. Referrer and frame policies concern documents only, and
 * every header costs on the hot route.
 */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});

/** Headers of a dashboard file of the given type. */
export function pageHeaders(contentType: string): Record<string, string> {
  return {
    ...BASE_HEADERS,
    'content-type': contentType,
    'cache-control': 'no-cache',
    'content-security-policy': CONTENT_SECURITY_POLICY,
  };
}
