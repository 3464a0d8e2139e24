/**
 * `berth get <service>`: prints only the port, assigning it if needed, for
 * `PORT=$(berth get server) npm start`. Decisions that moved the service go to stderr.
 */
import { BerthError } from '../../errors.js';
import { parseCommand } from '../args.js';
import type { Command } from '../io.js';
import { openProject } from '../project.js';

const HELP = `Usage: berth get <service> [--json]

Prints the service's port (assigning it if it has none), e.g. PORT=$(berth get server) npm start`;

const get: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('get', argv, {});
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new BerthError('E_USAGE', 'get takes exactly one service name, e.g. `berth get server`.');
  }
  const service = positionals[0]!;
  const pm = await openProject(values, io.err);
  try {
    const result = await pm.assignServices([service]);
    for (const d of result.decisions) if (d.from !== null) io.err(d.message);
    const s = result.services[service]!;
    io.out(values.json ? JSON.stringify({ service, ...s }, null, 2) : String(s.port));
    return 0;
  } finally {
    pm.close();
  }
};

export default get;
