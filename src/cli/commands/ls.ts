/**
 * `berth ls [--all-projects] [--json]`: leases with their state
 * (reserved / bound / stale), owner pid, age and, for leases with a `--ttl`, expiry.
 */
import { homedir } from 'node:os';
import { berthHome } from '../../compose/context.js';
import { type LeaseView, leaseJson, leaseViews } from '../../compose/lease-views.js';
import { checkoutsByDir, leaseName, registerConfigCheckout } from '../../compose/names.js';
import { type CheckoutName, namedUrl } from '../../core/names.js';
import { noPositionals, parseCommand } from '../args.js';
import type { Command, CommandIO } from '../io.js';
import { daemonProxy } from '../names.js';
import { openProject, openRegistryHere } from '../project.js';
import { formatAge, table } from '../style.js';
import { listAllHosts } from './ls-hosts.js';

const HELP = `Usage: berth ls [--all-projects] [--all-hosts] [--json]

Lists this project's leases (this checkout and environment), or every lease
on the machine with --all-projects. States: reserved (leased, nothing listening),
bound (something listens on the port), stale (owner died or lease expired).
--all-hosts lists every host's leases in a shared registry (etcd), with the
URL other hosts reach each service at. While \`berth serve\` runs its proxy, NAME
is each service's name through it (http://web.shop.localhost:4939).`;

/** A folder with the home folder written `~`. */
function shortDir(dir: string): string {
  const home = homedir();
  return home !== '' && (dir === home || dir.startsWith(`${home}/`)) ? `~${dir.slice(home.length)}` : dir;
}

function print(
  leases: LeaseView[],
  io: CommandIO,
  now: number,
  allProjects: boolean,
  names: ReadonlyMap<LeaseView, string>,
) {
  if (leases.length === 0) {
    io.out(allProjects ? 'no leases' : 'no leases for this project; run `berth assign`');
    return;
  }
  const paintState = (l: LeaseView) => {
    if (l.state === 'bound') return io.paint.green('bound');
    if (l.state === 'stale') return io.paint.red(`stale (${l.reason})`);
    return 'reserved';
  };
  // EXPIRES only when a lease has a --ttl: `in 9m`, or `-` for the others (a lease past it is stale).
  const expiring = leases.some((l) => l.expiresAt !== null);
  const expires = (l: LeaseView) =>
    l.expiresAt === null ? '-' : l.expiresAt <= now ? 'expired' : `in ${formatAge(l.expiresAt - now)}`;
  const rows = leases.map((l) => [
    ...(allProjects ? [l.kind === 'adhoc' ? '(getPort)' : l.project, l.environment] : []),
    l.service + (l.inheritsFrom ? io.paint.dim(` <- ${l.inheritsFrom}`) : ''),
    String(l.port),
    paintState(l),
    l.owner ? String(l.owner.pid) : '-',
    formatAge(now - l.createdAt),
    ...(expiring ? [expires(l)] : []),
    ...(names.size > 0 ? [names.get(l) ?? '-'] : []),
    // Two checkouts of one project differ only here.
    ...(allProjects ? [l.kind === 'adhoc' ? '-' : shortDir(l.dir)] : []),
  ]);
  const header = [
    ...(allProjects ? ['PROJECT', 'ENV'] : []),
    'SERVICE',
    'PORT',
    'STATE',
    'PID',
    'AGE',
    ...(expiring ? ['EXPIRES'] : []),
    ...(names.size > 0 ? ['NAME'] : []),
    ...(allProjects ? ['DIR'] : []),
  ];
  io.out(table(header, rows, { right: allProjects ? [3, 5] : [1, 3] }));
}

const ls: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('ls', argv, {
    'all-projects': { type: 'boolean', short: 'a' },
    'all-hosts': { type: 'boolean' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  noPositionals('ls', positionals);
  if (values['all-hosts']) return listAllHosts(values, io);
  let leases: LeaseView[];
  let now: number;
  const names = new Map<LeaseView, string>();
  const proxy = await daemonProxy(berthHome());
  const addNames = (checkoutOf: (dir: string) => CheckoutName | null | undefined) => {
    if (proxy.port === null) return;
    for (const l of leases) {
      const host = leaseName(l, checkoutOf(l.dir));
      if (host !== null) names.set(l, namedUrl(l.scheme!, host, proxy.port));
    }
  };
  if (values['all-projects']) {
    const adapters = await openRegistryHere(values, io.err);
    try {
      now = adapters.now();
      leases = leaseViews(adapters, adapters.registry.allLeases());
      const checkouts = proxy.port === null ? new Map() : checkoutsByDir(adapters);
      addNames((dir) => checkouts.get(dir));
    } finally {
      adapters.registry.close();
    }
  } else {
    const pm = await openProject(values, io.err);
    try {
      now = pm.adapters.now();
      leases = pm.leases();
      const checkout = proxy.port === null ? null : registerConfigCheckout(pm.adapters, pm.config);
      addNames(() => checkout);
    } finally {
      pm.close();
    }
  }
  if (values.json)
    io.out(
      JSON.stringify(
        leases.map((l) => ({ ...leaseJson(l), name: names.get(l) ?? null })),
        null,
        2,
      ),
    );
  else print(leases, io, now, values['all-projects'] === true, names);
  return 0;
};

export default ls;
