/**
 * Opening the project a command works on: config (from --config or found
 * upward), environment (--env, $BERTH_ENV, `development`), and the registry.
 */

import type { Adapters } from '../compose/context.js';
import { createPortManager, environmentName, type PortManager } from '../compose/manager.js';
import { openRegistryFrom } from '../compose/registry-here.js';
import { type OptionSpec, parseCommand } from './args.js';
import type { Command, CommandIO } from './io.js';

/** The environment a command works in. */
export function environmentOf(values: { env?: string | undefined }): string {
  return environmentName(values.env);
}

/**
 * Loads the config (warnings go to `warn`) and opens the registry it names.
 *
 * @example
 * const pm = await openProject({ env: 'test' }, (w) => console.error(w));
 */
export function openProject(
  values: { config?: string | undefined; env?: string | undefined },
  warn: (line: string) => void,
): Promise<PortManager> {
  return createPortManager({
    environment: values.env,
    ...(values.config ? { configFile: values.config } : {}),
    onWarning: (w) => warn(`warning: ${w.path}: ${w.message}`),
  });
}

/**
 * Opens the registry for a command that needs no config (`ls --all-projects`,
 * `ls --all-hosts`, `who`): `$BERTH_REGISTRY`, else the `registry` of the config found
 * from here (the registry `berth assign` would use here), else SQLite. A config that
 * does not load is reported and passed over: these commands work without one.
 *
 * @example
 * const adapters = await openRegistryHere({}, io.err);
 */
export function openRegistryHere(
  values: { config?: string | undefined; env?: string | undefined },
  warn: (line: string) => void,
): Promise<Adapters> {
  return openRegistryFrom({
    cwd: process.cwd(),
    environment: environmentOf(values),
    ...(values.config ? { configFile: values.config } : {}),
    onWarning: warn,
  });
}

/** What {@link projectCommand} hands a command: its parsed arguments and the open project. */
export type ProjectRun<O extends Record<string, OptionSpec>, A> = ReturnType<typeof parseCommand<O>> & {
  pm: PortManager;
  io: CommandIO;
  /** What the command's `check` made of its arguments. */
  args: A;
};

/**
 * The prologue the project commands share: parse `argv` with the command's options,
 * print `help` for --help, let `check` refuse bad arguments (and read them) before
 * anything opens, open the project, run `body`, and close the project (its run store
 * too) whatever happens.
 *
 * @example
 * export default projectCommand({ name: 'get', help: HELP, options: {}, run: async ({ pm, io }) => 0 });
 */
export function projectCommand<const O extends Record<string, OptionSpec>, A = void>(spec: {
  name: string;
  help: string;
  options: O;
  check?: (parsed: ReturnType<typeof parseCommand<O>>) => A;
  run: (run: ProjectRun<O, A>) => Promise<number>;
}): Command {
  const { name, help, options, check = () => undefined as A, run: body } = spec;
  return async (argv, io) => {
    const parsed = parseCommand(name, argv, options);
    if (parsed.values.help) {
      io.out(help);
      return 0;
    }
    const args = check(parsed);
    const pm = await openProject(parsed.values, io.err);
    try {
      return await body({ ...parsed, pm, io, args });
    } finally {
      pm.adapters.runs.close();
      pm.close();
    }
  };
}
