/**
 * `berth registry copy --from <url|sqlite> --to <url|sqlite>`: moves live leases, the
 * ports services had last (history) and the event log from one registry to another,
 * e.g. from this user's SQLite file to the team's etcd. Leases go to this host.
 */

import { copyRegistry, openRegistryAt } from '../../compose/registry-copy.js';
import type { Registry } from '../../core/registry.js';
import { BerthError } from '../../errors.js';
import { parseCommand } from '../args.js';
import type { Command } from '../io.js';

const HELP = `Usage: berth registry copy --from <url|sqlite> --to <url|sqlite> [--json]

Copies the live leases (those whose owner process lives and that have not expired),
the port each service had last, and the event log from one registry to another:
sqlite is the SQLite file in $BERTH_HOME, etcd://host1:2379,... a team's registry
(TLS and credentials from BERTH_ETCD_*). Leases go to this host (BERTH_HOST or the
hostname); a lease whose port or service the target already holds is skipped and
named. Leases held by running processes are copied without an etcd lease: they end
when their process does (the next allocation on this host reclaims them).
The source is left as it was; release there what you moved (berth release).`;

const registryCommand: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('registry', argv, {
    from: { type: 'string' },
    to: { type: 'string' },
  });
  if (values.help || positionals.length === 0) {
    io.out(HELP);
    return values.help ? 0 : 2;
  }
  if (positionals[0] !== 'copy' || positionals.length > 1) {
    throw new BerthError(
      'E_USAGE',
      `registry: unknown subcommand "${positionals.join(' ')}". Use \`berth registry copy --from A --to B\`.`,
    );
  }
  if (!values.from || !values.to) {
    throw new BerthError(
      'E_USAGE',
      'registry copy needs --from and --to, e.g. `berth registry copy --from sqlite --to etcd://etcd-1:2379`.',
    );
  }
  if (values.from === values.to) {
    throw new BerthError(
      'E_USAGE',
      `--from and --to are both ${values.from}. Name two different registries.`,
    );
  }
  const from = await openRegistryAt(values.from, false);
  let to: Registry | null = null;
  try {
    to = await openRegistryAt(values.to, false);
    const report = await copyRegistry(from, to);
    if (values.json) {
      io.out(JSON.stringify(report, null, 2));
    } else {
      io.out(
        `copied ${report.leases} lease(s), ${report.history} remembered port(s) and ${report.events} event(s) from ${from.path} to ${to.path}`,
      );
      for (const s of report.skipped) io.err(`skipped ${s.service} on port ${s.port}: ${s.why}`);
    }
    return 0;
  } finally {
    from.close();
    to?.close();
  }
};

export default registryCommand;
