/**
 * `createPortsHandler(pm)`: the seed's `GET /api/ports` in the user's own
 * server, so a front end asks its back end where the server and its WebSocket
 * are. A plain node:http handler, and thereby Express/Connect middleware.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PortManager } from '../compose/manager.js';
import { HttpError, toHttpError } from './errors.js';
import { API_HEADERS } from './headers.js';

/** Options of {@link createPortsHandler}. */
export interface PortsHandlerOptions {
  /** Path served; default `/api/ports`. */
  path?: string;
}

/** A node:http handler; `next` (middleware style) is called for every other request. */
export type PortsHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

/**
 * Serves `GET /api/ports` with `{ success: true, data: pm.ports() }`; other requests
 * go to `next()`, or get a 404 when there is none.
 *
 * @example
 * // node:http
 * http.createServer(createPortsHandler(pm)).listen(port);
 * // Express / Connect
 * app.use(createPortsHandler(pm));
 * // Fastify
 * fastify.get('/api/ports', (req, reply) => { reply.hijack(); createPortsHandler(pm)(req.raw, reply.raw); });
 * // Koa
 * app.use((ctx, next) => { if (ctx.path !== '/api/ports') return next(); ctx.respond = false; createPortsHandler(pm)(ctx.req, ctx.res); });
 */
export function createPortsHandler(
  pm: Pick<PortManager, 'ports'>,
  options: PortsHandlerOptions = {},
): PortsHandler {
  const path = options.path ?? '/api/ports';
  return (req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname !== path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      if (next) {
        next();
        return;
      }
      const error = new HttpError('E_NOT_FOUND', `nothing at ${pathname}. Ask GET ${path}.`).response();
      res.writeHead(error.status, error.headers);
      res.end(error.body as string);
      return;
    }
    let body: string;
    let status = 200;
    let headers: Record<string, string> = API_HEADERS;
    try {
      body = JSON.stringify({ success: true, data: pm.ports() });
    } catch (error) {
      const response = toHttpError(error).response();
      body = response.body as string;
      status = response.status;
      headers = response.headers;
    }
    res.writeHead(status, headers);
    res.end(body);
  };
}
