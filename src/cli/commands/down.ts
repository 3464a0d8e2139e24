/**
 * `berth down [--json]`: stops the stack `berth up` runs for this checkout and
 * environment, from another terminal; or, when `berth up` was killed, what it
 * left running. The work is src/compose/stack/down.ts; this file prints it.
 */
import { downStack } from '../../compose/stack/down.js';
import { noPositionals } from '../args.js';
import { projectCommand } from '../project.js';
import { stackPrinter } from '../stack-output.js';

const HELP = `Usage: berth down [--env NAME] [--json]

Stops the stack that \`berth up\` runs in this folder (and environment), the
way Ctrl-C would: in reverse dependency order, each service's stopSignal to
its process group, SIGKILL after its stopTimeout. When \`berth up\` itself
was killed, stops the processes it left (they are recorded with their start
times, so a reused pid is never signalled) and releases their leases.
Exits 0 once nothing of the stack runs, also when nothing ran.`;

export default projectCommand({
  name: 'down',
  help: HELP,
  options: {},
  check: ({ positionals }) => {
    noPositionals('down', positionals);
  },
  run: async ({ values, pm, io }) => {
    const json = values.json === true;
    const print = stackPrinter(io, { json, names: pm.config.services.map((s) => s.name) });
    const result = await downStack(pm, { emit: json ? () => {} : print });
    if (json) {
      io.out(
        JSON.stringify({
          state: result.state,
          runner: result.state === 'none' ? null : result.runner.pid,
          services: result.state === 'stopped' || result.state === 'stopped-orphans' ? result.services : [],
        }),
      );
      return 0;
    }
    const where = `${pm.config.dir} (environment ${pm.config.environment})`;
    if (result.state === 'none') io.out(`nothing runs for ${where}`);
    else if (result.state === 'stopped')
      io.out(
        `berth up (pid ${result.runner.pid}) stopped the stack of ${where}${result.services.length > 0 ? `: ${result.services.join(', ')}` : ''}`,
      );
    else if (result.state === 'cleared') {
      io.out(`berth up (pid ${result.runner.pid}) is gone and left nothing running; its records are cleared`);
    } else {
      io.out(
        `stopped what berth up (pid ${result.runner.pid}, no longer running) left: ${result.services.join(', ')}`,
      );
    }
    return 0;
  },
});
