/**
 * The thin layer between node:http and the app: reads a capped body, calls
 * `handle`, writes the response, and keeps event streams open until the client
 * leaves or the daemon stops.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from './body.js';
import { toHttpError } from './errors.js';
import type { HttpApp, HttpRequest, HttpResponse } from './message.js';

/** Reads at most `cap + 1` bytes: enough for the app to see that a body is too large, never more. */
function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', done);
      req.off('error', reject);
      const body = Buffer.concat(chunks);
      resolve(body.length > cap ? body.subarray(0, cap + 1) : body);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > cap) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('error', reject);
  });
}

function send(req: IncomingMessage, res: ServerResponse, response: HttpResponse): void {
  const { body } = response;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    // A length keeps the connection reusable without chunked framing.
    if (response.headers['content-length'] === undefined)
      res.setHeader('content-length', Buffer.byteLength(body));
    res.writeHead(response.status, response.headers);
    res.end(body);
    return;
  }
  res.writeHead(response.status, response.headers);
  res.flushHeaders();
  let stopped = false;
  let stop: () => void = () => {};
  const finish = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  stop = body.open({
    write: (chunk) => {
      if (!res.writableEnded && !res.destroyed) res.write(chunk);
    },
    end: () => {
      finish();
      if (!res.writableEnded) res.end();
    },
  });
  req.once('close', finish);
  res.once('close', finish);
}

/**
 * A node:http request listener for an app.
 *
 * @example
 * const server = http.createServer(createNodeListener(app));
 */
export function createNodeListener(
  app: HttpApp,
  maxBodyBytes: number = MAX_BODY_BYTES,
): (req: IncomingMessage, res: ServerResponse) => void {
  const dispatch = (req: IncomingMessage, res: ServerResponse, body: Buffer | null) => {
    const request: HttpRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body,
    };
    app.handle(request).then(
      (response) => send(req, res, response),
      (error: unknown) => send(req, res, toHttpError(error).response()),
    );
  };
  return (req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      dispatch(req, res, null);
      return;
    }
    readBody(req, maxBodyBytes).then(
      (body) => dispatch(req, res, body),
      () => res.destroy(),
    );
  };
}
