/**
 * `berth env --host H`: the ports and URLs of this project's services as host H
 * leased them, reached at H's advertised address. Reads only: nothing is leased on
 * another host.
 */
import { hostLeases, hostUrl, thisHost } from '../../compose/hosts.js';
import type { PortManager } from '../../compose/manager.js';
import { urlVariable } from '../../core/endpoints.js';
import type { HostLease } from '../../core/hosts.js';
import { BerthError } from '../../errors.js';

/**
 * The variables of `pm`'s project on `host`: `[name, value]` in the config's order.
 * Throws `E_NOT_FOUND` when the host leases none of its services, `E_AMBIGUOUS` when
 * several checkouts of the project lease there (and none in this checkout's folder).
 *
 * @example
 * for (const [k, v] of await remoteEnvVars(pm, 'ci-7')) console.log(`${k}=${v}`);
 */
export async function remoteEnvVars(pm: PortManager, host: string): Promise<[string, string][]> {
  const { config } = pm;
  const all = (await hostLeases(pm.adapters.registry, host)).filter(
    (l) => l.kind === 'service' && l.project === config.project && l.environment === config.environment,
  );
  const dirs = [...new Set(all.map((l) => l.dir))].sort();
  const dir = dirs.includes(config.dir) ? config.dir : dirs.length === 1 ? dirs[0] : undefined;
  if (dirs.length === 0) {
    throw new BerthError(
      'E_NOT_FOUND',
      `host ${host} holds no leases of project ${config.project} (${config.environment}). Check the host name (berth ls --all-hosts), or run \`berth assign\` there first.`,
      { data: { host, project: config.project } },
    );
  }
  if (dir === undefined) {
    throw new BerthError(
      'E_AMBIGUOUS',
      `host ${host} has ${dirs.length} checkouts of ${config.project}: ${dirs.join(', ')}. Run berth env --host from a checkout in one of these folders.`,
      { data: { host, folders: dirs } },
    );
  }
  const self = thisHost(pm.adapters.registry);
  const byService = new Map<string, HostLease>(all.filter((l) => l.dir === dir).map((l) => [l.service, l]));
  const out: [string, string][] = [];
  for (const spec of config.services) {
    const lease = byService.get(spec.name);
    if (!lease) continue;
    out.push([spec.envVar, String(lease.port)]);
    out.push([urlVariable(spec.name), hostUrl(lease, self)]);
  }
  return out;
}
