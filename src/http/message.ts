/**
 * The daemon's app is a function from a plain request to a plain response, so
 * every route and every security check is tested without a socket (the hono
 * way); src/http/node-adapter.ts is the only code that touches node:http.
 */

/** A request as the app sees it. Header names are lower-case, as node:http delivers them. */
export interface HttpRequest {
  method: string;
  /** Path and query, e.g. `/api/ports?project=shop`. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as received, at most one byte over the cap (the adapter stops reading there); `null` for none. */
  body: Buffer | null;
}

/** Where a streamed response writes. */
export interface StreamSink {
  write(chunk: string): void;
  /** Ends the response (the daemon is shutting down). */
  end(): void;
}

/** A response body that stays open (server-sent events): `open` starts it and returns the function that stops it. */
export interface StreamBody {
  kind: 'stream';
  open(sink: StreamSink): () => void;
}

/** A response as the app returns it. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer | StreamBody;
}

/** The app: one function, plus the lifecycle of its timers. */
export interface HttpApp {
  handle(request: HttpRequest): Promise<HttpResponse>;
  /** Stops timers and ends open event streams. */
  close(): void;
}

/** The first value of a header that may repeat. */
export function headerValue(request: HttpRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
