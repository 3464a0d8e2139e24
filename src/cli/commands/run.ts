/**
 * `berth run <service> -- <command...>`: assigns the project's services, runs
 * the command with PORT and every `berth env` variable, ties the service's
 * lease to the child (so it is reclaimed if everything dies), forwards
 * SIGINT/SIGTERM/SIGHUP (and stops what the command leaves running of its
 * tree after one, src/compose/leftovers.ts), exits with the child's code and
 * releases the leases it made (src/compose/run-leases.ts).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { berthHome } from '../../compose/context.js';
import { stopLeftovers, treeBelow } from '../../compose/leftovers.js';
import { serviceCommand } from '../../compose/port-args.js';
import { runLeases } from '../../compose/run-leases.js';
import { defaultSleep } from '../../compose/stack/start.js';
import { watchWrongPort } from '../../compose/wrong-port.js';
import { envVars } from '../../core/endpoints.js';
import type { LeaseOwner } from '../../core/types.js';
import { wrongPortFix, wrongPortLine } from '../../core/wrong-port.js';
import { BerthError } from '../../errors.js';
import { parseCommand } from '../args.js';
import type { Command } from '../io.js';
import { namedUrlsFor, namingProbe } from '../names.js';
import { ownArguments } from '../own-arguments.js';
import { openProject } from '../project.js';

const HELP = `Usage: berth run <service> [--quiet] -- <command> [args...]

Assigns ports, then runs the command (no shell) with PORT set to the service's
port and every variable of \`berth env\`. The lease belongs to the command while
it runs and is released when it exits, as are the leases berth made for the
other services (a lease they had before stays); berth exits with the command's code.
When the command fails because another process took the port between berth's
check and the command's bind, berth retries on another port (maxRetries times).

A dev server that does not read PORT (vite, astro, ng serve, ...) gets its port
flag, and its strict switch where it has one (berth says so in one line); the
service's "portArgs" turns that off (false) or replaces it. A process of the
command's tree that listens on another port than berth's is named at once.`;

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const run: Command = async (argv, io) => {
  const split = argv.indexOf('--');
  const { values, positionals } = parseCommand('run', ownArguments(argv), {
    quiet: { type: 'boolean', short: 'q' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const [service, ...rest] = positionals;
  if (split === -1 || rest.length > 0) {
    // Without `--`, the command's own flags (`node -e ...`) would be read as berth's.
    throw new BerthError(
      'E_USAGE',
      'run needs the service, then `--`, then the command, e.g. `berth run server -- npm start`.',
    );
  }
  const command = argv.slice(split + 1);
  if (!service || command.length === 0) {
    throw new BerthError(
      'E_USAGE',
      'run needs a service and a command, e.g. `berth run server -- npm start`.',
    );
  }
  const pm = await openProject(values, io.err);
  try {
    const named = await namedUrlsFor(pm, namingProbe(berthHome()), io.err);
    const leases = runLeases(pm, service);
    for (let attempt = 0; ; attempt++) {
      const result = await leases.assign();
      if (!values.quiet) for (const d of result.decisions) io.err(d.message);
      const ports = new Map(Object.entries(result.services).map(([name, s]) => [name, s.port]));
      const port = ports.get(service)!;
      const env = {
        ...process.env,
        ...Object.fromEntries(envVars(pm.config.services, ports, named)),
        PORT: String(port),
      };
      const spec = pm.config.services.find((s) => s.name === service)!;
      const argv = command as [string, ...string[]];
      const plan = serviceCommand(spec, { kind: 'exec', argv }, port, process.cwd());
      if (plan.message !== null && !values.quiet) io.err(`berth: ${plan.message}`);
      const watching = new AbortController();
      let code: number;
      let lost: boolean;
      let signalled: boolean;
      // The command's processes when berth forwarded it a signal: what it leaves of them is stopped.
      let tree: LeaseOwner[] | null = null;
      try {
        const run = plan.command.kind === 'exec' ? plan.command.argv : argv;
        ({ code, signalled } = await runChild(
          run,
          env,
          async (pid) => {
            await leases.tie(pid);
            void watchWrongPort(pm.adapters, {
              root: pid,
              port,
              signal: watching.signal,
              sleep: defaultSleep,
              now: pm.adapters.now,
              onFound: (l) =>
                io.err(`berth: warning: ${service}: ${wrongPortLine(l, port, wrongPortFix(plan, service))}`),
            });
          },
          (pid) => {
            tree ??= treeBelow(pm.adapters, pid);
          },
        ));
        if (tree !== null) {
          const left = await stopLeftovers(pm.adapters, tree, { sleep: defaultSleep });
          if (left.length > 0) {
            io.err(
              `berth: ${service}: the command exited and left ${left.length === 1 ? 'a process' : `${left.length} processes`} running (pid ${left.map((p) => p.pid).join(', ')}); berth stopped ${left.length === 1 ? 'it' : 'them'}`,
            );
          }
        }
        // A failed start while another process holds the port: it was taken between our
        // bind probe and the command's own bind. The child is gone, so the holder is not it.
        // A child stopped by a signal we forwarded is not a lost race: never restart it.
        lost = !signalled && code !== 0 && (await pm.adapters.probe.check(port)) === 'busy';
      } finally {
        watching.abort();
        // The command's lease, and those leased only to give it the other services' variables.
        await leases.release();
      }
      if (!lost || attempt >= pm.config.maxRetries) return code;
      io.err(
        `${service}: port ${port} was taken by another process before the command bound it; retrying on another port (${attempt + 1}/${pm.config.maxRetries})`,
      );
    }
  } finally {
    pm.close();
  }
};

/**
 * Runs the command once; `onSpawn` ties the lease to the child, `onForward`
 * is told right before a signal is forwarded to it. Resolves with the exit code.
 */
async function runChild(
  [file, ...args]: readonly [string, ...string[]],
  env: NodeJS.ProcessEnv,
  onSpawn: (pid: number) => Promise<void>,
  onForward: (pid: number) => void,
): Promise<{ code: number; signalled: boolean }> {
  const child = spawn(file, args, { stdio: 'inherit', env });
  let signalled = false;
  const forward = (signal: NodeJS.Signals) => {
    signalled = true;
    if (child.pid !== undefined) onForward(child.pid);
    child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  try {
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    }).catch((error: NodeJS.ErrnoException) => {
      throw new BerthError(
        'E_NOT_FOUND',
        error.code === 'ENOENT'
          ? `cannot run "${file}": no such program${file.includes('/') ? '' : ' on PATH'}. Check the command after -- (an npm script runs as \`npm run <script>\`, a local tool as \`npx <tool>\`).`
          : `cannot run "${file}": ${error.code ?? error.message}. Check the command after --.`,
      );
    });
    child.on('error', () => {}); // after a successful spawn, only kill() can fail; the exit decides
    await onSpawn(child.pid!);
    const { code, signal } = await exit;
    return { code: code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0), signalled };
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}

export default run;
