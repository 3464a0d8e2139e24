/**
 * berth's command line: the one error boundary. Commands are loaded lazily so
 * `berth get server` pays only for what it uses; this file alone sets the exit code
 * of a command (the bin, start.ts, sets 1 only when this bundle cannot start at all).
 */
import { closest } from '../core/suggest.js';
import { BerthError } from '../errors.js';
import { registryArgument } from './args.js';
import { COMMAND_NAMES, type CommandName, isCommandName } from './command-names.js';
import { EXIT_OK, errorJson, errorLines, exitCodeFor } from './exit.js';
import { type Command, type CommandIO, processIO, writeLine } from './io.js';
import { ownArguments } from './own-arguments.js';

const COMMANDS: Record<CommandName, { summary: string; load: () => Promise<{ default: Command }> }> = {
  init: { summary: 'write a starter berth.config.json', load: () => import('./commands/init.js') },
  assign: {
    summary: 'assign ports to services and print the decisions',
    load: () => import('./commands/assign.js'),
  },
  get: {
    summary: "print one service's port (assigning it if needed)",
    load: () => import('./commands/get.js'),
  },
  ls: { summary: 'list leases with their state', load: () => import('./commands/ls.js') },
  release: { summary: 'release leases', load: () => import('./commands/release.js') },
  env: {
    summary: 'print the ports and URLs as environment variables',
    load: () => import('./commands/env.js'),
  },
  run: {
    summary: 'run a command with its port leased for its lifetime',
    load: () => import('./commands/run.js'),
  },
  up: {
    summary: 'run the stack: every command on its port, in order, ready-checked',
    load: () => import('./commands/up.js'),
  },
  down: { summary: 'stop the stack berth up runs here', load: () => import('./commands/down.js') },
  check: {
    summary: "check every lease: port state, holder and the service's health",
    load: () => import('./commands/check.js'),
  },
  wait: { summary: 'wait until services are healthy', load: () => import('./commands/wait.js') },
  who: { summary: 'show which process listens on a port', load: () => import('./commands/who.js') },
  free: { summary: 'stop the process listening on a port', load: () => import('./commands/free.js') },
  serve: {
    summary: 'start the HTTP API and dashboard on loopback',
    load: () => import('./commands/serve.js'),
  },
  hosts: {
    summary: "print (or --write) the hosts-file lines for this checkout's names",
    load: () => import('./commands/hosts.js'),
  },
  registry: {
    summary: 'copy leases and history between registries (SQLite, etcd)',
    load: () => import('./commands/registry.js'),
  },
};

const USAGE = `berth: ports for every service, free and stable, never shared by two processes.

Usage: berth <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c], _, all) => `  ${name.padEnd(Math.max(...all.map(([n]) => n.length)) + 2)}${c.summary}`)
  .join('\n')}

Options for every command:
  -c, --config FILE   config file (default: berth.config.{json,yaml,yml,ts} found upward)
  -e, --env NAME      environment (default: $BERTH_ENV or development)
      --json          machine-readable output
      --registry URL  etcd://host1:2379,... for a team's registry (default: $BERTH_REGISTRY, else SQLite)
  -h, --help          help for a command

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
Registry: $BERTH_HOME/registry.db (default ~/.local/state/berth).`;

/** The process's IO, and whether anything went to stdout (a command's own JSON answer, before a failure). */
function trackedIO(): { io: CommandIO; printed: () => boolean } {
  const base = processIO();
  let printed = false;
  // Not `...base`: spreading would read `errIsTTY` now, and process.stderr's getter builds
  // the stream (loads tty), ~2 ms of every start for the one command that asks (wait).
  const io: CommandIO = {
    err: base.err,
    paint: base.paint,
    paintErr: base.paintErr,
    out: (text) => {
      printed = true;
      base.out(text);
    },
    get errIsTTY() {
      return base.errIsTTY;
    },
  };
  return { io, printed: () => printed };
}

/** The command called `name` (not an Object.prototype key such as `toString`); throws E_USAGE with the closest name otherwise. */
function commandNamed(name: string) {
  if (isCommandName(name)) return COMMANDS[name];
  if (name.startsWith('-')) {
    throw new BerthError(
      'E_USAGE',
      `options go after the command, e.g. \`berth assign ${name} ...\`. Run \`berth --help\` for the commands.`,
    );
  }
  const hint = closest(name, COMMAND_NAMES);
  throw new BerthError(
    'E_USAGE',
    `unknown command "${name}".${hint ? ` Did you mean "${hint}"?` : ''} Run \`berth --help\` for the list.`,
  );
}

async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) {
    return (await commandNamed(rest[0]).load()).default(['--help'], io);
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(USAGE);
    return EXIT_OK;
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module');
    io.out((createRequire(import.meta.url)('../../package.json') as { version: string }).version);
    return EXIT_OK;
  }
  const command = commandNamed(name);
  // --registry is BERTH_REGISTRY for this command and the processes it starts (berth run's
  // child, berth up's services): set once, here at the entry, not by the argument parser.
  const registry = registryArgument(rest);
  if (registry !== undefined) process.env.BERTH_REGISTRY = registry;
  return (await command.load()).default(rest, io);
}

/**
 * Runs the command in `process.argv` and sets the exit code. The bin (start.ts) calls it
 * once the whole bundle has loaded: a bundle cut short never starts a command.
 */
export function start(): void {
  const { io, printed } = trackedIO();
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      for (const line of errorLines(error)) writeLine(2, line);
      // Scripts that asked for JSON get the error as JSON too, in the daemon's shape
      // (unless the command already printed its own JSON answer, as `wait` does).
      // Only berth's own `--json` counts: `berth run x -- tool --json` is the tool's.
      const json = ownArguments(process.argv.slice(2)).includes('--json');
      if (json && !printed()) writeLine(1, JSON.stringify(errorJson(error), null, 2));
      process.exitCode = exitCodeFor(error);
    },
  );
}
