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
  return `${schemeOf(spec)}://${URL_HOST}:${port}`;
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

/** `my-api` -> `MY_API`: the prefix of a service's variables. */
export function envPrefix(service: string): string {
  return service.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/**
 * The variables `berth env` prints and `berth run` sets: `<VAR>` (the port,
 * `SERVER_PORT` or the service's `env`) and `<NAME>_URL` for every assigned service.
 */
export function envVars(
  services: readonly ServiceSpec[],
  ports: ReadonlyMap<string, number>,
): [string, string][] {
  const out: [string, string][] = [];
  for (const spec of services) {
    const port = ports.get(spec.name);
    if (port === undefined) continue;
    out.push([spec.envVar, String(port)]);
    out.push([`${envPrefix(spec.name)}_URL`, serviceUrl(spec, port)]);
  }
  return out;
}

/** Quotes a value for POSIX shells (`export X='...'`). */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
