/**
 * `berth release [service...] [--all]`: gives leases back. The port stays
 * remembered, so the service gets it again next time.
 */
import { BerthError } from '../../errors.js';
import { projectCommand } from '../project.js';

const HELP = `Usage: berth release <service...> | --all [--json]

Releases the services' leases (and those of services inheriting their port).`;

export default projectCommand({
  name: 'release',
  help: HELP,
  options: { all: { type: 'boolean' } },
  check: ({ values, positionals }) => {
    if (!values.all && positionals.length === 0) {
      throw new BerthError('E_USAGE', 'release needs service names or --all, e.g. `berth release server`.');
    }
    if (values.all && positionals.length > 0) {
      throw new BerthError('E_USAGE', 'give either service names or --all to release, not both.');
    }
  },
  run: async ({ values, positionals, pm, io }) => {
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
  },
});
