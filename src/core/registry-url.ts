/**
 * Which registry a process uses, from a URL: `etcd://host1:2379,host2:2379[/prefix]`
 * selects etcd, `sqlite` (or nothing) the SQLite file in BERTH_HOME. TLS files and
 * credentials come from the environment only (BERTH_ETCD_*), never from a URL or a
 * config file, so a checked-in config cannot leak them. Pure: the config's rules
 * and the registry adapters read URLs with this one parser.
 */
import { BerthError } from '../errors.js';

/** The environment variables that carry etcd's TLS files and credentials. */
export const ETCD_SECRET_VARS = [
  'BERTH_ETCD_CA',
  'BERTH_ETCD_CERT',
  'BERTH_ETCD_KEY',
  'BERTH_ETCD_USER',
  'BERTH_ETCD_PASSWORD',
] as const;

/** Key prefix when the URL names none. */
export const DEFAULT_ETCD_PREFIX = 'berth';

/** A registry choice. */
export type RegistryChoice =
  | { kind: 'sqlite' }
  | {
      kind: 'etcd';
      /** `host:port` of each member, as given. */
      endpoints: string[];
      /** Key prefix, without a trailing slash. */
      prefix: string;
      /** The URL as given (for messages). */
      url: string;
    };

const ENDPOINT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/**
 * Parses a registry URL. Throws `E_USAGE` for anything else, and for a URL that
 * carries credentials (they belong in BERTH_ETCD_USER / BERTH_ETCD_PASSWORD).
 *
 * @example
 * parseRegistryUrl('etcd://a:2379,b:2379/team') // { kind: 'etcd', endpoints: ['a:2379', 'b:2379'], prefix: 'team', ... }
 */
export function parseRegistryUrl(url: string): RegistryChoice {
  const text = url.trim();
  if (text === '' || text === 'sqlite' || text === 'sqlite:' || text === 'sqlite://')
    return { kind: 'sqlite' };
  const match = /^etcd:\/\/([^/?#]*)(\/[^?#]*)?([?#].*)?$/.exec(text);
  if (!match) {
    throw new BerthError(
      'E_USAGE',
      `registry "${text}" is not a registry URL. Use etcd://host1:2379,host2:2379 (optionally /prefix), or sqlite for the local file.`,
      { data: { registry: text } },
    );
  }
  const [, hosts = '', path = '', rest] = match;
  if (hosts.includes('@') || rest !== undefined) {
    throw new BerthError(
      'E_USAGE',
      `registry "${redact(text)}" carries credentials or options in the URL. Give TLS files and credentials in the environment instead: ${ETCD_SECRET_VARS.join(', ')}.`,
      { data: { variables: [...ETCD_SECRET_VARS] } },
    );
  }
  const endpoints = hosts.split(',').map((h) => h.trim());
  const bad = endpoints.find((h) => !ENDPOINT.test(h));
  if (bad !== undefined) {
    throw new BerthError(
      'E_USAGE',
      `registry "${text}": "${bad}" is not a host:port. List members as etcd://host1:2379,host2:2379.`,
      { data: { registry: text } },
    );
  }
  const prefix = path.replace(/^\/+|\/+$/g, '') || DEFAULT_ETCD_PREFIX;
  return {
    kind: 'etcd',
    endpoints: endpoints.map((h) => (/:\d+$/.test(h) && !h.endsWith(']') ? h : `${h}:2379`)),
    prefix,
    url: text,
  };
}

/** Whether a registry URL carries credentials (a user, a password or query options). */
export function registryUrlHasCredentials(url: string): boolean {
  return /^[a-z]+:\/\/[^/]*@/i.test(url.trim()) || /[?#]/.test(url);
}

function redact(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@').replace(/[?#].*$/, '?***');
}

/**
 * The registry this process uses: `$BERTH_REGISTRY` wins (the CLI's `--registry` sets
 * it), then `configured` (the config's `registry` key, or a library option), else SQLite.
 *
 * @example
 * chooseRegistry(null, { BERTH_REGISTRY: 'etcd://a:2379' }).kind // 'etcd'
 */
export function chooseRegistry(
  configured: string | null | undefined,
  env: NodeJS.ProcessEnv,
): RegistryChoice {
  const fromEnv = env.BERTH_REGISTRY;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseRegistryUrl(fromEnv);
  if (configured) return parseRegistryUrl(configured);
  return { kind: 'sqlite' };
}
