/**
 * `berth run <service> -- <command...>`: assigns the project's services, runs
 * the command with PORT and every `berth env` variable, ties the service's
 * lease to the child (so it is reclaimed if everything dies), forwards
 * SIGINT/SIGTERM/SIGHUP, exits with the child's code and releases the leases
 * it made (src/compose/run-leases.ts).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { berthHome } from '../../compose/context.js';
import { runLeases } from '../../compose/run-leases.js';
import { envVars } from '../../core/endpoints.js';
import { BerthError } from '../../errors.js';
import { ownArguments, parseCommand } from '../args.js';
import type { Command } from '../io.js';
import { namedUrlsFor, namingProbe } from '../names.js';
import { openProject } from '../project.js';

const HELP = `Usage: berth run <service> [--quiet] -- <command> [args...]

Assigns ports, then runs the command (no shell) with PORT set to the service's
port and every variable of \`berth env\`. The lease belongs to the command while
it runs and is released when it exits, as are the leases berth made for the
other services (a lease they had before stays); berth exits with the command's code.
When the command fails because another process took the port between berth's
check and the command's bind, berth retries on another port (maxRetries times).`;

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
      let code: number;
      let lost: boolean;
      let signalled: boolean;
      try {
        ({ code, signalled } = await runChild(command as [string, ...string[]], env, (pid) =>
          leases.tie(pid),
        ));
        // A failed start while another process holds the port: it was taken between our
        // bind probe and the command's own bind. The child is gone, so the holder is not it.
        // A child stopped by a signal we forwarded is not a lost race: never restart it.
        lost = !signalled && code !== 0 && (await pm.adapters.probe.check(port)) === 'busy';
      } finally {
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

/** Runs the command once; `onSpawn` ties the lease to the child. Resolves with the exit code. */
async function runChild(
  [file, ...args]: [string, ...string[]],
  env: NodeJS.ProcessEnv,
  onSpawn: (pid: number) => Promise<void>,
): Promise<{ code: number; signalled: boolean }> {
  const child = spawn(file, args, { stdio: 'inherit', env });
  let signalled = false;
  const forward = (signal: NodeJS.Signals) => {
    signalled = true;
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
        `cannot run "${file}": ${error.code ?? error.message}. Check the command after --.`,
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
