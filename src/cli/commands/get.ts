/**
 * `berth get <service>`: prints only the port, assigning it if needed, for
 * `PORT=$(berth get server) npm start`. Decisions that moved the service go to stderr.
 */
import { BerthError } from '../../errors.js';
import { projectCommand } from '../project.js';

const HELP = `Usage: berth get <service> [--json]

Prints the service's port (assigning it if it has none), e.g. PORT=$(berth get server) npm start`;

export default projectCommand({
  name: 'get',
  help: HELP,
  options: {},
  check: ({ positionals }) => {
    if (positionals.length !== 1) {
      throw new BerthError('E_USAGE', 'get takes exactly one service name, e.g. `berth get server`.');
    }
    return positionals[0]!;
  },
  run: async ({ values, pm, io, args: service }) => {
    const result = await pm.assignServices([service]);
    for (const d of result.decisions) if (d.from !== null) io.err(d.message);
    const s = result.services[service]!;
    io.out(values.json ? JSON.stringify({ service, ...s }, null, 2) : String(s.port));
    return 0;
  },
});
