/**
 * Names for services: `<service>.<project>.localhost`, and the table the
 * daemon's proxy routes by. Pure: the checkouts' labels, the leases and the
 * services a checkout declares are inputs; nothing here reads the registry,
 * git or the clock.
 *
 * A name is DNS labels under `localhost` (RFC 6761: every resolver that knows
 * the name sends it to loopback, and browsers do so themselves):
 * - `<service>.<project>.localhost`: the project's first checkout;
 * - `<service>.<checkout>.<project>.localhost`: another checkout (a linked git
 *   worktree, a second clone, an unrelated folder with the same project name);
 * - `<service>-<environment>.<...>`: a lease of another environment than the
 *   default (`development`).
 */
import { isRunEnvironment } from './test-run.js';
import type { Lease } from './types.js';

/** Longest DNS label, in characters (RFC 1035 2.3.4). */
export const MAX_LABEL_LENGTH = 63;

/** Longest host name, in characters (RFC 1035 2.3.4, without the final dot). */
export const MAX_HOST_LENGTH = 253;

/** The domain every name lives under (RFC 6761 6.3). */
export const NAME_DOMAIN = 'localhost';

/** The environment whose leases get the plain `<service>` label; other environments add `-<environment>`. */
export const NAMES_ENVIRONMENT = 'development';

/** URL schemes the proxy can carry: plain HTTP and websockets (TLS would need the proxy to hold the certificate). */
const NAMEABLE_SCHEMES: ReadonlySet<string> = new Set(['http', 'ws']);

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS label from any text: lower case, every character other than a-z, 0-9
 * and `-` becomes `-`, runs of `-` become one, none at either end, at most 63
 * characters. `''` when nothing usable is left.
 *
 * @example
 * dnsLabel('My_Shop') // 'my-shop'
 * dnsLabel('feature/login') // 'feature-login'
 */
export function dnsLabel(text: string): string {
  return trimHyphens(
    trimHyphens(
      text
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .replace(/-{2,}/g, '-'),
    ).slice(0, MAX_LABEL_LENGTH),
  );
}

function trimHyphens(text: string): string {
  return text.replace(/^-+|-+$/g, '');
}

/** A checkout's place in the names: its project's label and its own (`''` for the project's first checkout). */
export interface CheckoutName {
  /** Absolute folder of the checkout's config (the `dir` of its leases). */
  dir: string;
  /** The project's DNS label. */
  project: string;
  /** The checkout's DNS label; `''` for the first checkout, which goes without one. */
  label: string;
}

/** What berth knows of a folder when it first registers it (read by src/adapters/vcs/checkout.ts). */
export interface CheckoutFacts {
  /**
   * `linked-worktree`: a `git worktree add` of a repository whose main worktree
   * is elsewhere; `main-worktree`: a clone's own folder (or a worktree of a bare
   * repository, which has no main one); `folder`: not in git.
   */
  kind: 'linked-worktree' | 'main-worktree' | 'folder';
  /** The checked-out branch (`feature/login`), `null` when detached or not in git. */
  branch: string | null;
  /** Name of the checkout's top folder (the worktree's, else the config's folder). */
  folder: string;
}

/**
 * The label a checkout registers with, given the labels its project's other
 * checkouts hold. The first checkout gets `''` (no label) unless it is a
 * linked worktree (the main worktree keeps the plain name for itself); others
 * get their branch (a linked worktree) or their folder's name, numbered on a
 * clash (`feature-2`) or when it would repeat the project's label
 * (`shop` in `shop` becomes `shop-2`).
 *
 * @example
 * chooseCheckoutLabel({ kind: 'folder', branch: null, folder: 'shop' }, 'shop', new Set()) // ''
 * chooseCheckoutLabel({ kind: 'linked-worktree', branch: 'feature/x', folder: 'wt' }, 'shop', new Set()) // 'feature-x'
 */
export function chooseCheckoutLabel(
  facts: CheckoutFacts,
  project: string,
  taken: ReadonlySet<string>,
): string {
  if (facts.kind !== 'linked-worktree' && !taken.has('')) return '';
  const wanted = dnsLabel(facts.kind === 'linked-worktree' && facts.branch ? facts.branch : facts.folder);
  const base = wanted === '' ? 'checkout' : wanted;
  for (let n = base === project ? 2 : 1; ; n++) {
    const label = n === 1 ? base : numbered(base, n);
    if (!taken.has(label)) return label;
  }
}

function numbered(base: string, n: number): string {
  const suffix = `-${n}`;
  return `${trimHyphens(base.slice(0, MAX_LABEL_LENGTH - suffix.length))}${suffix}`;
}

/**
 * The first label of a service's name: the service, and for an environment
 * other than {@link NAMES_ENVIRONMENT}, `-<environment>`.
 *
 * @example
 * serviceLabel('api', 'development') // 'api'
 * serviceLabel('api', 'staging') // 'api-staging'
 */
export function serviceLabel(service: string, environment: string): string {
  const base = dnsLabel(service);
  if (environment === NAMES_ENVIRONMENT) return base;
  return dnsLabel(`${base}-${dnsLabel(environment)}`);
}

/**
 * A service's host name in a checkout.
 *
 * @example
 * hostName('web', 'development', { dir: '/w/shop', project: 'shop', label: '' }) // 'web.shop.localhost'
 * hostName('web', 'development', { dir: '/w/shop-x', project: 'shop', label: 'feature-x' }) // 'web.feature-x.shop.localhost'
 */
export function hostName(service: string, environment: string, checkout: CheckoutName): string {
  return [serviceLabel(service, environment), checkout.label, checkout.project, NAME_DOMAIN]
    .filter((part) => part !== '')
    .join('.');
}

/**
 * A name's URL through the proxy on `proxyPort` (no port shown for 80).
 *
 * @example
 * namedUrl('http', 'web.shop.localhost', 4939) // 'http://web.shop.localhost:4939'
 */
export function namedUrl(scheme: string, host: string, proxyPort: number): string {
  return proxyPort === 80 ? `${scheme}://${host}` : `${scheme}://${host}:${proxyPort}`;
}

/** Whether a URL scheme can go through the proxy (`http`, `ws`). */
export function isNameable(scheme: string | null): boolean {
  return scheme !== null && NAMEABLE_SCHEMES.has(scheme);
}

/** One name the proxy knows, and where it goes. */
export interface NameRoute {
  /** `web.shop.localhost`. */
  name: string;
  /** The project as configured (not its label). */
  project: string;
  dir: string;
  environment: string;
  service: string;
  /** `http` or `ws`. */
  scheme: string;
  /**
   * `live`: a live lease, the proxy connects to `port`; `idle`: no live lease (a
   * stopped stack, a dead owner), `port` is the last one it had or `null`: the
   * proxy answers 502 without connecting anywhere.
   */
  state: 'live' | 'idle';
  port: number | null;
}

/** A lease as the name table needs it: with whether it is live (owner alive, not expired). */
export interface TableLease {
  lease: Lease;
  live: boolean;
}

/** A service a checkout declares that has no lease now, with the port it had last (its history). */
export interface DeclaredService {
  dir: string;
  service: string;
  scheme: string;
  /** The port it had last time, `null` when it never had one. */
  lastPort: number | null;
}

/** The inputs of {@link nameTable}. */
export interface NameTableInput {
  checkouts: readonly CheckoutName[];
  leases: readonly TableLease[];
  /** Services of the checkouts' configs in the default environment, leased or not. */
  declared: readonly DeclaredService[];
}

/**
 * Every name and its route. Leases of test runs and ad-hoc leases get no names,
 * nor TCP/TLS services (the proxy carries HTTP and websockets), nor folders that
 * have no checkout label yet. When two routes would share a name (service
 * `web-test` and service `web` in environment `test`), the default
 * environment's wins, then the live one, then the first by folder and service.
 *
 * @example
 * nameTable({ checkouts: [{ dir: '/w/shop', project: 'shop', label: '' }], leases: [{ lease, live: true }], declared: [] })
 *   .get('web.shop.localhost') // { state: 'live', port: 3000, ... }
 */
export function nameTable(input: NameTableInput): Map<string, NameRoute> {
  const byDir = new Map(input.checkouts.map((c) => [c.dir, c]));
  const candidates: NameRoute[] = [];
  const leased = new Set<string>();
  for (const { lease, live } of input.leases) {
    const checkout = byDir.get(lease.dir);
    if (lease.kind !== 'service' || !checkout || !isNameable(lease.scheme)) continue;
    if (isRunEnvironment(lease.environment)) continue;
    leased.add(`${lease.dir}\0${lease.environment}\0${lease.service}`);
    candidates.push({
      name: hostName(lease.service, lease.environment, checkout),
      project: lease.project,
      dir: lease.dir,
      environment: lease.environment,
      service: lease.service,
      scheme: lease.scheme!,
      state: live ? 'live' : 'idle',
      port: lease.port,
    });
  }
  for (const d of input.declared) {
    const checkout = byDir.get(d.dir);
    if (!checkout || !isNameable(d.scheme)) continue;
    if (leased.has(`${d.dir}\0${NAMES_ENVIRONMENT}\0${d.service}`)) continue;
    candidates.push({
      name: hostName(d.service, NAMES_ENVIRONMENT, checkout),
      project: projectOfDeclared(input.leases, d.dir) ?? checkout.project,
      dir: d.dir,
      environment: NAMES_ENVIRONMENT,
      service: d.service,
      scheme: d.scheme,
      state: 'idle',
      port: d.lastPort,
    });
  }
  candidates.sort(routeOrder);
  const table = new Map<string, NameRoute>();
  for (const route of candidates) {
    if (route.name.length <= MAX_HOST_LENGTH && !table.has(route.name)) table.set(route.name, route);
  }
  return table;
}

function projectOfDeclared(leases: readonly TableLease[], dir: string): string | undefined {
  return leases.find((l) => l.lease.dir === dir && l.lease.kind === 'service')?.lease.project;
}

function routeOrder(a: NameRoute, b: NameRoute): number {
  const envA = a.environment === NAMES_ENVIRONMENT ? 0 : 1;
  const envB = b.environment === NAMES_ENVIRONMENT ? 0 : 1;
  if (envA !== envB) return envA - envB;
  if (a.state !== b.state) return a.state === 'live' ? -1 : 1;
  return (
    a.environment.localeCompare(b.environment) ||
    a.dir.localeCompare(b.dir) ||
    a.service.localeCompare(b.service)
  );
}

/** What a request's Host header names. */
export type HostTarget =
  /** A syntactically valid name under `.localhost`. */
  | { kind: 'name'; name: string; port: number | null }
  /** `localhost` itself: the list of names. */
  | { kind: 'index'; port: number | null }
  /** Anything else: an IP, another domain, a look-alike, a malformed header. */
  | { kind: 'foreign' };

/**
 * Reads a Host header (`Web.Shop.localhost:4939`, `web.shop.localhost.`).
 *
 * @example
 * hostTarget('web.shop.localhost:4939') // { kind: 'name', name: 'web.shop.localhost', port: 4939 }
 * hostTarget('api.shop.localhost.evil.com') // { kind: 'foreign' }
 */
export function hostTarget(header: string | undefined): HostTarget {
  if (header === undefined || header === '' || header.startsWith('[')) return { kind: 'foreign' };
  let host = header.toLowerCase();
  let port: number | null = null;
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    const digits = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(digits) || Number(digits) > 65535) return { kind: 'foreign' };
    port = Number(digits);
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === NAME_DOMAIN) return { kind: 'index', port };
  if (host.length > MAX_HOST_LENGTH || !host.endsWith(`.${NAME_DOMAIN}`)) return { kind: 'foreign' };
  const labels = host.split('.');
  if (!labels.every((label) => LABEL.test(label))) return { kind: 'foreign' };
  return { kind: 'name', name: host, port };
}
