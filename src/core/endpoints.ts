/**
 * Telling everyone where things are: URLs, the seed's `GET /api/ports` data
 * object, and environment variables. Pure.
 */
import type { Requirement, ServiceSpec } from './types.js';

const SCHEMES: Record<Requirement, string> = {
  http: 'http',
  https: 'https',
  websocket: 'ws',
  wss: 'wss',
  tcp: 'tcp',
};

/** Host written into URLs: browsers and Node both resolve it to loopback. */
export const URL_HOST = 'localhost';

/**
 * The URL of a service: scheme from the first `requires` entry.
 *
 * @example
 * serviceUrl({ requires: ['websocket'] }, 3000) // 'ws://localhost:3000'
 */
export function serviceUrl(spec: Pick<ServiceSpec, 'requires'>, port: number): string {
  return schemeUrl(schemeOf(spec), port);
}

/**
 * The one place a service URL is written: a scheme (`http`, `ws`, ... as
 * {@link schemeOf} gives, or as a lease recorded it) and a port on {@link URL_HOST}.
 *
 * @example
 * schemeUrl('ws', 3000) // 'ws://localhost:3000'
 */
export function schemeUrl(scheme: string, port: number): string {
  return `${scheme}://${URL_HOST}:${port}`;
}

/** The URL scheme of a service: `http`, `https`, `ws`, `wss` or `tcp`. */
export function schemeOf(spec: Pick<ServiceSpec, 'requires'>): string {
  return SCHEMES[spec.requires[0] ?? 'tcp'];
}

/** The seed's `data` object: `{ server: 3000, ..., environment, urls: { server: 'http://localhost:3000' } }`. */
export type PortsData = {
  environment: string;
  urls: Record<string, string>;
} & Record<string, number | string | Record<string, string>>;

/**
 * Builds the seed's `GET /api/ports` data from a port per service (declaration order).
 *
 * @example
 * portsData(config.services, new Map([['server', 3000]]), 'development')
 * // { server: 3000, environment: 'development', urls: { server: 'http://localhost:3000' } }
 */
export function portsData(
  services: readonly ServiceSpec[],
  ports: ReadonlyMap<string, number>,
  environment: string,
): PortsData {
  const data: Record<string, number> = {};
  const urls: Record<string, string> = {};
  for (const spec of services) {
    const port = ports.get(spec.name);
    if (port === undefined) continue;
    data[spec.name] = port;
    urls[spec.name] = serviceUrl(spec, port);
  }
  return { ...data, environment, urls } as PortsData;
}

/**
 * The stem of a service's variables (`<STEM>_PORT`, `<STEM>_URL`); the one
 * naming rule for every variable berth derives from a service name.
 * A lower-case letter or digit followed by an upper-case one is a word
 * boundary, and so is the last capital of an acronym before a lower-case
 * letter; every run of other characters (`-`, `.`, `_`, ...) becomes one `_`;
 * digits stay; the result is upper case, with a leading `_` if it would start
 * with a digit (shells reject such names).
 *
 * @example
 * variableStem('webSocket')   // 'WEB_SOCKET'
 * variableStem('web-socket')  // 'WEB_SOCKET'
 * variableStem('redisCache2') // 'REDIS_CACHE2'
 * variableStem('HTTPServer')  // 'HTTP_SERVER'
 */
export function variableStem(service: string): string {
  const stem = service
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
  return /^[0-9]/.test(stem) ? `_${stem}` : stem;
}

/**
 * The default variable carrying a service's port.
 *
 * @example
 * portVariable('webSocket') // 'WEB_SOCKET_PORT'
 */
export function portVariable(service: string): string {
  return `${variableStem(service)}_PORT`;
}

/**
 * The variable carrying a service's URL.
 *
 * @example
 * urlVariable('webSocket') // 'WEB_SOCKET_URL'
 */
export function urlVariable(service: string): string {
  return `${variableStem(service)}_URL`;
}

/**
 * The variables `berth env` prints and `berth run` sets: `<VAR>` (the port,
 * `SERVER_PORT` or the service's `portEnv`) and the URL ({@link urlVariable}) for every
 * assigned service: its named URL when `named` has one (`"urls": "named"`), else the port URL.
 */
export function envVars(
  services: readonly ServiceSpec[],
  ports: ReadonlyMap<string, number>,
  named: ReadonlyMap<string, string> = new Map(),
): [string, string][] {
  const out: [string, string][] = [];
  for (const spec of services) {
    const port = ports.get(spec.name);
    if (port === undefined) continue;
    out.push([spec.envVar, String(port)]);
    out.push([urlVariable(spec.name), named.get(spec.name) ?? serviceUrl(spec, port)]);
  }
  return out;
}

/** Quotes a value for POSIX shells (`export X='...'`). */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
