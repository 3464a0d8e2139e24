/**
 * `berth who <port> [--json]`: which process listens on a port (pid, user,
 * command line, since when) and whether berth leased the port, to whom. Needs
 * no config: it asks the kernel and the shared registry.
 */
import type { LeaseView } from '../../compose/lease-views.js';
import {
  type HiddenHolder,
  hiddenHolders,
  hiddenWhoNote,
  type PortReport,
  userNameOf,
  whoIsOn,
} from '../../compose/who.js';
import type { PortHolders } from '../../core/facts.js';
import type { Lease } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { parseCommand, parsePortArg } from '../args.js';
import type { Command, CommandIO } from '../io.js';
import { openRegistryHere } from '../project.js';
import { formatAge, table } from '../style.js';

const HELP = `Usage: berth who <port> [--json]

Shows which process listens on the port (pid, user, command line, since when,
address) and whether berth leased the port, to which project and service.
A socket of another user's process is reported as such, never as free; one
berth cannot see the process of (another PID namespace, e.g. a container) too.
Exits 1 when nothing listens on the port.`;

/** The JSON of `berth who --json`. */
export function whoJson(
  found: PortHolders,
  lease: Lease | null,
  userOfUid: (uid: number | null) => string | null,
) {
  return {
    port: found.port,
    listeners: [
      ...found.holders.map((h) => ({ pid: h.pid, user: h.user, command: h.command, address: h.address })),
      ...found.hidden.map((h) => ({ pid: null, user: userOfUid(h.uid), command: null, address: h.address })),
    ],
    lease: lease ? { project: lease.project, service: lease.service, environment: lease.environment } : null,
  };
}

function describeLease(lease: LeaseView, sharers: readonly Lease[]): string {
  const state = lease.state === 'stale' ? `stale (${lease.reason})` : lease.state;
  const whom =
    lease.kind === 'adhoc'
      ? `a getPort() call${lease.owner ? ` of pid ${lease.owner.pid}` : ''}`
      : `${lease.project}/${lease.service} (${lease.environment}) in ${lease.dir}`;
  const shared = sharers.filter((l) => l.id !== lease.id).map((l) => l.service);
  const owner = lease.kind === 'service' && lease.owner ? `, owner pid ${lease.owner.pid}` : '';
  return `leased by berth to ${whom}${shared.length ? `, shared by ${shared.join(', ')}` : ''}${owner}; ${state}`;
}

function print(report: PortReport, hidden: readonly HiddenHolder[], io: CommandIO, now: number) {
  const { found, leases, lease } = report;
  const rows = [
    ...found.holders.map((h) => [
      String(h.pid),
      h.user ?? '?',
      h.address,
      h.startedAt === null
        ? '?'
        : `${new Date(h.startedAt).toISOString()} (${formatAge(now - h.startedAt)} ago)`,
      h.command ?? '?',
    ]),
    ...hidden.map((h) => ['?', h.user ?? '?', h.address, '?', io.paint.yellow(hiddenWhoNote(h, found.port))]),
  ];
  if (rows.length === 0) io.out(`nothing listens on port ${found.port}`);
  else io.out(table(['PID', 'USER', 'ADDRESS', 'SINCE', 'COMMAND'], rows, { right: [0] }));
  io.out(lease ? describeLease(lease, leases) : `port ${found.port} is not leased by berth`);
}

const who: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('who', argv, {});
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new BerthError('E_USAGE', 'who takes exactly one port, e.g. `berth who 3000`.');
  }
  const port = parsePortArg(positionals[0]);
  const adapters = await openRegistryHere({}, io.err);
  try {
    const report = await whoIsOn(adapters, port);
    const userOf = (uid: number | null) => userNameOf(adapters, uid);
    if (values.json) io.out(JSON.stringify(whoJson(report.found, report.lease, userOf), null, 2));
    else print(report, hiddenHolders(adapters, report.found.hidden), io, adapters.now());
    const { found } = report;
    return found.holders.length + found.hidden.length > 0 ? 0 : 1;
  } finally {
    adapters.registry.close();
  }
};

export default who;
