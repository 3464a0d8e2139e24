/**
 * `GET /api/ports?project=&host=H`: the seed's answer for a project's services on
 * another host of a shared registry (etcd), with URLs at that host's advertised
 * address. The leases are read from the shared store (this daemon's mirror holds
 * only its own host).
 */
import { hostLeases, hostUrl, thisHost } from '../compose/hosts.js';
import type { PortsData } from '../core/endpoints.js';
import type { Registry } from '../core/registry.js';
import { HttpError } from './errors.js';

/**
 * The ports data of `project` (a name, or an absolute folder) on `host`.
 *
 * @example
 * await remotePorts(registry, { host: 'ci-7', project: 'shop', dir: null, environment: 'development' })
 */
export async function remotePorts(
  registry: Registry,
  query: { host: string; project: string | null; dir: string | null; environment: string },
): Promise<PortsData> {
  const { host, environment } = query;
  const project = query.project === '' ? null : query.project;
  const leases = (await hostLeases(registry, host)).filter(
    (l) =>
      l.kind === 'service' &&
      l.environment === environment &&
      (project === null || l.project === project || l.dir === project) &&
      (query.dir === null || query.dir === '' || l.dir === query.dir),
  );
  const dirs = [...new Set(leases.map((l) => l.dir))].sort();
  if (dirs.length === 0) {
    throw new HttpError(
      'E_NOT_FOUND',
      `host ${host} holds no leases${project === null ? '' : ` of project "${project}"`} in environment "${environment}". Check host= and project= (berth ls --all-hosts).`,
      { data: { host, project } },
    );
  }
  if (dirs.length > 1) {
    throw new HttpError(
      'E_AMBIGUOUS',
      `host ${host} has ${dirs.length} checkouts: ${dirs.join(', ')}. Add dir= with one of these folders.`,
      { data: { host, folders: dirs } },
    );
  }
  const self = thisHost(registry);
  const data: Record<string, number> = {};
  const urls: Record<string, string> = {};
  for (const l of leases.sort((a, b) => a.port - b.port || (a.service < b.service ? -1 : 1))) {
    data[l.service] = l.port;
    urls[l.service] = hostUrl(l, self);
  }
  return { ...data, environment, urls } as PortsData;
}
