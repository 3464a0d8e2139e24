/**
 * `berth ls --all-hosts [--json]`: every host's leases in a shared registry (etcd),
 * each with the URL other hosts reach it at. With the SQLite registry: this host.
 */
import { hostLeases, hostUrl, thisHost } from '../../compose/hosts.js';
import type { HostLease } from '../../core/hosts.js';
import type { CommandIO } from '../io.js';
import { openRegistryHere } from '../project.js';
import { formatAge, table } from '../style.js';

/** The JSON shape of one lease in `berth ls --all-hosts --json`. */
export function hostLeaseJson(l: HostLease, self: string) {
  return {
    host: l.host,
    address: l.address,
    project: l.project,
    dir: l.dir,
    environment: l.environment,
    service: l.service,
    port: l.port,
    url: l.kind === 'service' ? hostUrl(l, self) : null,
    pid: l.owner?.pid ?? null,
    createdAt: new Date(l.createdAt).toISOString(),
  };
}

/**
 * Lists every host's leases; the state (bound, stale) is only known on each lease's own host.
 *
 * @example
 * await listAllHosts({ json: true }, io);
 */
export async function listAllHosts(
  values: { json?: boolean | undefined; config?: string | undefined; env?: string | undefined },
  io: CommandIO,
): Promise<number> {
  const adapters = await openRegistryHere(values, io.err);
  let leases: HostLease[];
  let self: string;
  try {
    self = thisHost(adapters.registry);
    leases = await hostLeases(adapters.registry, null);
  } finally {
    adapters.registry.close();
  }
  if (values.json) {
    io.out(
      JSON.stringify(
        leases.map((l) => hostLeaseJson(l, self)),
        null,
        2,
      ),
    );
    return 0;
  }
  if (leases.length === 0) {
    io.out('no leases on any host');
    return 0;
  }
  const now = adapters.now();
  const rows = leases.map((l) => [
    l.host + (l.host === self ? io.paint.dim(' (this host)') : ''),
    l.kind === 'adhoc' ? '(getPort)' : l.project,
    l.environment,
    l.service + (l.inheritsFrom ? io.paint.dim(` <- ${l.inheritsFrom}`) : ''),
    String(l.port),
    l.kind === 'service' ? hostUrl(l, self) : '-',
    l.owner ? String(l.owner.pid) : '-',
    formatAge(now - l.createdAt),
  ]);
  io.out(table(['HOST', 'PROJECT', 'ENV', 'SERVICE', 'PORT', 'URL', 'PID', 'AGE'], rows, { right: [4, 6] }));
  return 0;
}
