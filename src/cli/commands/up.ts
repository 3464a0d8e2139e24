/**
 * `berth up [service...] [--json]`: runs the stack on its ports, in
 * dependency order, each service once what it needs is ready; stops it in
 * reverse order on Ctrl-C, SIGTERM or SIGHUP (a second Ctrl-C kills at once).
 * The runner is src/compose/stack/; this file parses, prints and forwards signals.
 */
import { berthHome } from '../../compose/context.js';
import { startStack } from '../../compose/stack/start.js';
import { daemonProxy, namedUrlsFor, resolvesToLoopback, serviceNamedUrls } from '../names.js';
import { projectCommand } from '../project.js';
import { stackPrinter } from '../stack-output.js';

const HELP = `Usage: berth up [service...] [--env NAME] [--json]

Leases every service's port (as \`berth assign\`), then runs each service's
\`command\` with PORT and every \`berth env\` variable, in dependency order:
a service starts once everything in its \`dependsOn\` (and the service it
inherits a port from) is ready. Ready means a process berth started listens
on the port and its \`ready\` check (else its health check) passes. With names,
only those services and what they need run.

Each line of output is prefixed with its service's name. When everything is
ready, a summary lists every service's port, URL and time to ready.

A service that exits is restarted per its \`restart\` policy; with "no", the
stack stops and berth up exits 1 naming it (unless it exited 0 and nothing
depends on it: a one-shot task). Ctrl-C, SIGTERM, SIGHUP or \`berth down\` stop
the stack in reverse order: each service's \`stopSignal\` to its whole process
group, SIGKILL after its \`stopTimeout\`; a second Ctrl-C kills at once. The
leases are released at the end; berth up exits 0 after a clean stop.

  --json   one JSON event per line on stdout (starting, ready, exited,
           restarting, moved, stopping, stopped, output, ...)`;

/** The signals that stop the stack; a second one kills what still runs. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Signals this close together are one request, in milliseconds: wrappers such
 * as `timeout` or a process manager send the same signal to the process and to
 * its group, and a person's second Ctrl-C never comes this fast.
 */
const SAME_SIGNAL_MS = 250;

export default projectCommand({
  name: 'up',
  help: HELP,
  options: {},
  run: async ({ values, positionals, pm, io }) => {
    const print = stackPrinter(io, {
      json: values.json === true,
      names: pm.config.services.map((s) => s.name),
    });
    // Signals that arrive while the ports are being leased stop the stack as soon as it exists.
    let stop: () => void = () => {};
    let early = 0;
    let last = Number.NEGATIVE_INFINITY;
    const onSignal = () => {
      const now = Date.now();
      if (now - last < SAME_SIGNAL_MS) return;
      last = now;
      early++;
      stop();
    };
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
    try {
      const proxy = await daemonProxy(berthHome());
      const urls = await namedUrlsFor(pm, { proxy: async () => proxy, resolves: resolvesToLoopback }, io.err);
      const stack = await startStack(pm, {
        services: positionals,
        emit: print,
        ...(proxy.port === null ? {} : { names: serviceNamedUrls(pm, proxy.port) }),
        urls,
      });
      stop = () => stack.stop();
      for (let i = 0; i < early; i++) stack.stop();
      const outcome = await stack.done;
      if (outcome.failed !== null) {
        io.err(
          `berth: stopped the stack because ${outcome.failed.service} ${outcome.failed.reason}. Fix ${outcome.failed.service} (its output is above) or set its restart policy.`,
        );
      } else if (!values.json) {
        io.err('berth: the stack is down; its leases are released');
      }
      return outcome.code;
    } finally {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    }
  },
});
