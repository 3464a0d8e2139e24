/**
 * `berth ls [--all-projects] [--json]`: leases with their state
 * (reserved / bound / stale), owner pid and age.
 */
import { type LeaseView, leaseJson, leaseViews } from '../../compose/lease-views.js';
import { noPositionals, parseCommand } from '../args.js';
import type { Command, CommandIO } from '../io.js';
import { openProject, openRegistryHere } from '../project.js';
import { formatAge, table } from '../style.js';
import { listAllHosts } from './ls-hosts.js';

const HELP = `Usage: berth ls [--all-projects] [--all-hosts] [--json]

Lists this project's leases (this checkout and environment), or every lease
on the machine with --all-projects. States: reserved (leased, nothing listening),
bound (something listens on the port), stale (owner died or lease expired).
--all-hosts lists every host's leases in a shared registry (etcd), with the
URL other hosts reach each service at.`;

function print(leases: LeaseView[], io: CommandIO, now: number, allProjects: boolean) {
  if (leases.length === 0) {
    io.out(allProjects ? 'no leases' : 'no leases for this project; run `berth assign`');
    return;
  }
  const paintState = (l: LeaseView) => {
    if (l.state === 'bound') return io.paint.green('bound');
    if (l.state === 'stale') return io.paint.red(`stale (${l.reason})`);
    return 'reserved';
  };
  const rows = leases.map((l) => [
    ...(allProjects ? [l.kind === 'adhoc' ? '(getPort)' : l.project, l.environment] : []),
    l.service + (l.inheritsFrom ? io.paint.dim(` <- ${l.inheritsFrom}`) : ''),
    String(l.port),
    paintState(l),
    l.owner ? String(l.owner.pid) : '-',
    formatAge(now - l.createdAt),
  ]);
  const header = [...(allProjects ? ['PROJECT', 'ENV'] : []), 'SERVICE', 'PORT', 'STATE', 'PID', 'AGE'];
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
  if (values['all-projects']) {
    const adapters = await openRegistryHere(values, io.err);
    try {
      now = adapters.now();
      leases = leaseViews(adapters, adapters.registry.allLeases());
    } finally {
      adapters.registry.close();
    }
  } else {
    const pm = await openProject(values, io.err);
    try {
      now = pm.adapters.now();
      leases = pm.leases();
    } finally {
      pm.close();
    }
  }
  if (values.json) io.out(JSON.stringify(leases.map(leaseJson), null, 2));
  else print(leases, io, now, values['all-projects'] === true);
  return 0;
};

export default ls;
