/**
 * `berth release [service...] [--all]`: gives leases back. The port stays
 * remembered, so the service gets it again next time.
 */
import { BerthError } from '../../errors.js';
import { parseCommand } from '../args.js';
import type { Command } from '../io.js';
import { openProject } from '../project.js';

const HELP = `Usage: berth release <service...> | --all [--json]

Releases the services' leases (and those of services inheriting their port).`;

const release: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('release', argv, { all: { type: 'boolean' } });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (!values.all && positionals.length === 0) {
    throw new BerthError('E_USAGE', 'release needs service names or --all, e.g. `berth release server`.');
  }
  if (values.all && positionals.length > 0) {
    throw new BerthError('E_USAGE', 'give either service names or --all to release, not both.');
  }
  const pm = await openProject(values, io.err);
  try {
    const released = values.all ? await pm.releaseAll() : await pm.release(...positionals);
    if (values.json) {
      io.out(
        JSON.stringify(
          released.map((l) => ({ service: l.service, port: l.port })),
          null,
          2,
        ),
      );
    } else if (released.length === 0) {
      io.out('nothing to release');
    } else {
      for (const l of released) io.out(`released ${l.service} (port ${l.port})`);
    }
    return 0;
  } finally {
    pm.close();
  }
};

export default release;
