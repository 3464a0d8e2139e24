/**
 * The daemon's app: `handle(request) -> response`, with the security checks
 * in one fixed order before any route runs:
 * 1. Host allow-list (DNS rebinding), on every route;
 * 2. Origin, on every non-GET request and on the event stream (cross-site);
 * 3. token (bearer header or cookie), on every /api route;
 * 4. method, then for mutations content type, body size and fields.
 */

import type { Adapters } from '../compose/context.js';
import { ProjectRegistries, registryOpener } from '../compose/project-registries.js';
import {
  type ApiDeps,
  assignRoute,
  eventsRoute,
  healthRoute,
  leasesRoute,
  releaseRoute,
} from './api-routes.js';
import { type Assets, loadAssets } from './assets.js';
import { ConfigCache } from './config-cache.js';
import { HttpError, toHttpError } from './errors.js';
import { EventHub } from './events.js';
import { API_HEADERS, BASE_HEADERS, pageHeaders } from './headers.js';
import { type HealthCheck, HealthMonitor } from './health.js';
import type { HttpApp, HttpRequest, HttpResponse } from './message.js';
import { PortsRoute } from './ports-route.js';
import { createGuard } from './security.js';

/** Options of {@link createApp}. */
export interface AppOptions {
  adapters: Adapters;
  /** The daemon's port (Host headers must carry it). */
  port: number;
  /** The access token. */
  token: string;
  /** Extra Host names to answer to (`--allow-host`). */
  allowHosts?: readonly string[];
  /** Health check; default the adapters' (`adapters.health`). */
  check?: HealthCheck;
  /** Project configs; default a cache over `loadConfig`. */
  configs?: ConfigCache;
  /** Dashboard files; default read from ./assets beside this module. */
  assets?: Assets;
  /** Health round interval in milliseconds. */
  healthIntervalMs?: number;
  /** Event streams open at once; default `MAX_EVENT_STREAMS` (64). */
  maxEventStreams?: number;
  /** Extra facts for `/api/status` (pid, url). */
  status?: () => Record<string, unknown>;
  /** Registries of projects whose config names another than the daemon's; default opened as needed. */
  registries?: ProjectRegistries;
  /** The proxy's port, for the names of leases (`name`, `names`); `null` or absent without a proxy. */
  proxyPort?: number | null;
}

/** The app plus what the daemon starts and tests poke. */
export interface DaemonApp extends HttpApp {
  /** Starts the event poll, heartbeats and health rounds. */
  start(): void;
  readonly hub: EventHub;
  readonly health: HealthMonitor;
}

/** One API route: its method and how it answers (`search` is the query string). */
interface ApiRoute {
  method: 'GET' | 'POST';
  respond(request: HttpRequest, search: string): Promise<HttpResponse> | HttpResponse;
}

const json = (data: unknown): HttpResponse => ({
  status: 200,
  headers: API_HEADERS,
  body: JSON.stringify({ success: true, data }),
});

const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...BASE_HEADERS,
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
});

/**
 * Builds the daemon's app over the given adapters: its parts ({@link appParts}),
 * the API's routes ({@link apiRoutes}), the dashboard's pages ({@link pageResponder}),
 * and one `handle` that checks Host and Origin, then answers or turns the error
 * into its response.
 *
 * @example
 * const app = createApp({ adapters: createAdapters({ home }), port: 4949, token });
 * const res = await app.handle({ method: 'GET', url: '/api/leases', headers: { host: 'localhost:4949', authorization: `Bearer ${token}` }, body: null });
 */
export function createApp(options: AppOptions): DaemonApp {
  const parts = appParts(options);
  const { guard, hub, health, registries } = parts;
  const api = apiRoutes(parts, options);
  const page = pageResponder(guard, options.assets ?? loadAssets());

  const handleApi = async (request: HttpRequest, path: string, search: string): Promise<HttpResponse> => {
    guard.checkToken(request);
    const route = api.get(path);
    if (!route) {
      throw new HttpError('E_NOT_FOUND', `no API route ${path}. Routes: ${[...api.keys()].join(', ')}.`);
    }
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (route.method !== method) {
      throw new HttpError('E_METHOD', `${request.method} is not allowed on ${path}. Use ${route.method}.`, {
        headers: { allow: route.method === 'GET' ? 'GET, HEAD' : 'POST' },
      });
    }
    return route.respond(request, search);
  };

  const handle = async (request: HttpRequest): Promise<HttpResponse> => {
    try {
      guard.checkHost(request);
      const q = request.url.indexOf('?');
      const path = q === -1 ? request.url : request.url.slice(0, q);
      const search = q === -1 ? '' : request.url.slice(q + 1);
      if ((request.method !== 'GET' && request.method !== 'HEAD') || path === '/api/events') {
        guard.checkOrigin(request);
      }
      if (path.startsWith('/api/')) return await handleApi(request, path, search);
      return page(request, path, search);
    } catch (error) {
      return toHttpError(error).response();
    }
  };

  return {
    handle,
    hub,
    health,
    start() {
      hub.start();
      health.start();
    },
    close() {
      health.close();
      hub.close();
      registries.close();
    },
  };
}

/** The app's working parts: the request guard, the config cache, the event hub, the health monitor, the ports route. */
function appParts(options: AppOptions) {
  const { adapters } = options;
  const guard = createGuard({
    port: options.port,
    token: options.token,
    ...(options.allowHosts ? { allowHosts: options.allowHosts } : {}),
  });
  const configs = options.configs ?? new ConfigCache();
  const hub = new EventHub({
    registry: adapters.registry,
    now: adapters.now,
    ...(options.maxEventStreams === undefined ? {} : { maxStreams: options.maxEventStreams }),
  });
  const health = new HealthMonitor({
    registry: adapters.registry,
    configs,
    processes: adapters.processes,
    check: options.check ?? ((spec, port) => adapters.health.check(spec, port)),
    now: adapters.now,
    onError: (error) => adapters.log(`health round failed: ${(error as Error).message}`),
    ...(options.healthIntervalMs ? { intervalMs: options.healthIntervalMs } : {}),
  });
  const registries = options.registries ?? new ProjectRegistries(adapters, registryOpener(adapters));
  const proxyPort = options.proxyPort ?? null;
  const deps: ApiDeps = {
    adapters,
    configs,
    hub,
    health,
    registries,
    status: options.status ?? (() => ({})),
    proxyPort,
  };
  const ports = new PortsRoute({
    registry: adapters.registry,
    processes: adapters.processes,
    configs,
    hub,
    registries,
    now: adapters.now,
    names: proxyPort === null ? null : { port: proxyPort, checkouts: adapters.checkouts },
  });
  return { guard, hub, health, deps, ports, registries };
}

/** The API's routes by path. A Map, not an object literal: a path such as /api/__proto__ must find nothing. */
function apiRoutes(
  { deps, hub, ports }: ReturnType<typeof appParts>,
  options: AppOptions,
): ReadonlyMap<string, ApiRoute> {
  return new Map<string, ApiRoute>([
    ['/api/ports', { method: 'GET', respond: (req, search) => ports.handle(req.url, search) }],
    ['/api/leases', { method: 'GET', respond: async () => json(await leasesRoute(deps)) }],
    ['/api/health', { method: 'GET', respond: () => json(healthRoute(deps)) }],
    [
      '/api/status',
      {
        method: 'GET',
        respond: () =>
          json({ ...deps.status(), port: options.port, proxyPort: deps.proxyPort, streams: hub.streams }),
      },
    ],
    [
      '/api/events',
      {
        method: 'GET',
        respond: (req, search) => ({
          status: 200,
          headers: STREAM_HEADERS,
          body: eventsRoute(deps, req, new URLSearchParams(search)),
        }),
      },
    ],
    ['/api/assign', { method: 'POST', respond: async (req) => json(await assignRoute(deps, req)) }],
    ['/api/release', { method: 'POST', respond: async (req) => json(await releaseRoute(deps, req)) }],
  ]);
}

/**
 * The dashboard's pages: GET only; `/?token=` moves the token into an HttpOnly cookie
 * and out of the address bar; anything else is a shipped asset or 404.
 */
function pageResponder(guard: ReturnType<typeof createGuard>, assets: ReturnType<typeof loadAssets>) {
  return (request: HttpRequest, path: string, search: string): HttpResponse => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HttpError('E_METHOD', `${request.method} is not allowed on ${path}. Use GET.`, {
        headers: { allow: 'GET, HEAD' },
      });
    }
    const given = path === '/' ? new URLSearchParams(search).get('token') : null;
    if (given !== null) {
      if (!guard.isToken(given)) {
        throw new HttpError('E_REFUSED', 'wrong token in the URL. Open the URL that `berth serve` printed.');
      }
      return {
        status: 303,
        headers: {
          ...BASE_HEADERS,
          'cache-control': 'no-store',
          location: '/',
          'set-cookie': guard.cookie(),
        },
        body: '',
      };
    }
    const asset = assets.get(path);
    if (!asset) throw new HttpError('E_NOT_FOUND', `nothing at ${path}. The dashboard is at /.`);
    return { status: 200, headers: pageHeaders(asset.contentType), body: asset.body };
  };
}
