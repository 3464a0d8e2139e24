/**
 * How berth passes a service's port to the tool its command runs: reads the
 * command (a shell line or an argv), looks through the launchers in front of
 * the tool (`FOO=1`, `env`, `cross-env`, `dotenv --`, `npx`, `pnpm exec`,
 * `yarn`, `bunx`, `uv run`, `bundle exec`, `python -m`, and package.json
 * scripts run by `npm run`, `pnpm`, `yarn` or `bun run` whose body is a single
 * invocation), finds the tool in the table (dev-tools.ts) and adds its port
 * flag and strict switch at the end (npm needs `--` before them). A command
 * that names the port itself, or a shell line that is more than one command,
 * is left as written. Pure: the scripts come in as data.
 */
import { DEV_TOOLS, type DevTool } from './dev-tools.js';
import { shellQuote } from './endpoints.js';
import { isAssignment, shellWords } from './shell-words.js';
import type { RunCommand } from './types.js';

/** A service's `portArgs`: `true` the table's entry, `false` nothing, a list what to add instead (`{port}` replaced). */
export type PortArgsSetting = boolean | readonly string[];

/** What {@link planPortArgs} reads. */
export interface PortArgsRequest {
  command: RunCommand;
  /** berth's port for the service. */
  port: number;
  setting: PortArgsSetting;
  /** The `scripts` of the package.json of the command's folder, `null` when there is none. */
  scripts: Readonly<Record<string, string>> | null;
}

/** Why berth added nothing where the table or `portArgs` would have added something. */
export type Kept =
  | { reason: 'off' }
  /** The command names the tool's port itself (the flag or word that does). */
  | { reason: 'named'; by: string }
  /** A shell line (the command's, or a script's: `script` names it) that is more than one command. */
  | { reason: 'shell'; construct: string; script: string | null }
  /** A launcher berth cannot see through (an unknown flag, a nested script). */
  | { reason: 'unread'; why: string };

/** What berth runs, and why. */
export interface PortArgsPlan {
  /** The command to run: as given, or with berth's arguments at its end. */
  command: RunCommand;
  /** What berth added for the tool, `{port}` replaced (npm's `--` not included); empty when nothing. */
  args: readonly string[];
  /** The known tool the command runs, or `null`. */
  tool: DevTool | null;
  /** Why nothing was added, when something could have been; `null` otherwise. */
  kept: Kept | null;
  /** The line berth prints about it, or `null` when there is nothing to say. */
  message: string | null;
}

/** The tool invocation found behind the launchers. */
interface Invocation {
  program: string;
  args: readonly string[];
  /** The outer command is `npm run`: the added arguments need `--` first. */
  separator: boolean;
}

type Unwrapped = { ok: true; inv: Invocation } | { ok: false; kept: Kept };

const unread = (why: string): Unwrapped => ({ ok: false, kept: { reason: 'unread', why } });

/** npx's flags that take no value. */
const NPX_FLAGS = new Set(['-y', '--yes', '--no', '--no-install', '-q', '--quiet', '--ignore-existing']);

/** pnpm's, yarn's and bun's own commands: `pnpm install` is not a script. */
const MANAGER_COMMANDS = new Set([
  'add',
  'audit',
  'build',
  'create',
  'dedupe',
  'install',
  'i',
  'init',
  'link',
  'list',
  'ls',
  'outdated',
  'pack',
  'publish',
  'remove',
  'rm',
  'test',
  'unlink',
  'update',
  'up',
  'upgrade',
  'why',
  'workspace',
  'workspaces',
]);

const PYTHON = /^(python(\d+(\.\d+)*)?|py)$/;

/** The last path segment of a program: `./node_modules/.bin/vite` -> `vite`. */
function baseName(program: string): string {
  return program.split(/[\\/]/).pop()!;
}

/** `vite@5.1` -> `vite`, `@angular/cli@17` -> `@angular/cli`. */
function withoutVersion(spec: string): string {
  const at = spec.indexOf('@', 1);
  return at === -1 ? spec : spec.slice(0, at);
}

/** The program an npm package spec stands for (its bin): `@angular/cli` -> `ng`. */
function programOfPackage(spec: string): string {
  const name = withoutVersion(spec);
  const tool = DEV_TOOLS.find((t) => t.packages?.includes(name));
  return tool?.programs[0] ?? baseName(name);
}

interface Context {
  scripts: Readonly<Record<string, string>> | null;
  /** Inside a script's body: a second script is not followed. */
  inScript: boolean;
  separator: boolean;
}

/** Runs the package.json script `name` (or, when `binFallback` and there is none, the bin `name`). */
function viaScript(name: string, rest: readonly string[], ctx: Context, binFallback: boolean): Unwrapped {
  const body = ctx.scripts?.[name];
  if (body === undefined) {
    if (!binFallback) return unread(`package.json has no "${name}" script`);
    return unwrap([name, ...rest], ctx, false);
  }
  if (ctx.inScript) return unread(`the script runs another script ("${name}")`);
  const read = shellWords(body);
  if (!read.simple) {
    return { ok: false, kept: { reason: 'shell', construct: read.construct, script: name } };
  }
  // The added arguments go after the script's own arguments, which npm, pnpm, yarn and bun append to its body.
  return unwrap([...read.words, ...rest], { ...ctx, inScript: true }, true);
}

/** `npx [flags] <package> args`: the command after npx's own flags. */
function viaNpx(rest: readonly string[], ctx: Context): Unwrapped {
  let program: string | null = null;
  let i = 0;
  for (; i < rest.length; i++) {
    const word = rest[i]!;
    if (NPX_FLAGS.has(word)) continue;
    if (word === '-p' || word === '--package') {
      i++;
      program ??= '';
      continue;
    }
    if (word.startsWith('--package=')) {
      program ??= '';
      continue;
    }
    if (word.startsWith('-')) return unread(`npx's flag ${word}`);
    break;
  }
  const command = rest[i];
  if (command === undefined) return unread('npx runs nothing');
  // With --package, the word after the flags is the bin itself; without, it is the package to run.
  const bin = program === '' ? command : programOfPackage(command);
  return unwrap([bin, ...rest.slice(i + 1)], ctx, false);
}

/** The first word, which must be a name, not a flag. */
function named(rest: readonly string[], who: string): string | Unwrapped {
  const word = rest[0];
  if (word === undefined) return unread(`${who} runs nothing`);
  if (word.startsWith('-')) return unread(`${who}'s flag ${word}`);
  return word;
}

/** Through `npm run <script>`, `npm start`, `npm exec -- <bin>`. */
function viaNpm(rest: readonly string[], ctx: Context): Unwrapped {
  const [verb, ...more] = rest;
  if (verb === 'start') return npmScript('start', more, ctx);
  if (verb === 'run' || verb === 'run-script' || verb === 'rum' || verb === 'urn') {
    const name = named(more, 'npm run');
    return typeof name === 'string' ? npmScript(name, more.slice(1), ctx) : name;
  }
  if ((verb === 'exec' || verb === 'x') && more[0] === '--') return viaNpx(more.slice(1), ctx);
  return unread(`npm ${verb ?? ''} is not npm run`.trim());
}

function npmScript(name: string, rest: readonly string[], ctx: Context): Unwrapped {
  const dashes = rest.indexOf('--');
  const ownFlags = dashes === -1 ? rest : rest.slice(0, dashes);
  // Before `--`, npm reads the words as its own flags (`--workspace`, `--prefix` change the package).
  const flag = ownFlags.find((w) => w.startsWith('-'));
  if (flag !== undefined) return unread(`npm's flag ${flag}`);
  const args = dashes === -1 ? rest : rest.slice(dashes + 1);
  return viaScript(name, args, { ...ctx, separator: ctx.separator || dashes === -1 }, false);
}

/** Through `pnpm <script|bin>`, `pnpm run`, `pnpm exec`, `pnpm dlx`. */
function viaPnpm(rest: readonly string[], ctx: Context): Unwrapped {
  const [verb, ...more] = rest;
  if (verb === 'exec')
    return nameThen(more, 'pnpm exec', (bin) => unwrap([bin, ...more.slice(1)], ctx, false));
  if (verb === 'dlx') return viaNpx(more, ctx);
  if (verb === 'run') return nameThen(more, 'pnpm run', (n) => viaScript(n, more.slice(1), ctx, false));
  return nameThen(rest, 'pnpm', (n) =>
    MANAGER_COMMANDS.has(n) ? unread(`pnpm ${n} is pnpm's own command`) : viaScript(n, more, ctx, true),
  );
}

/** Through `yarn <script|bin>`, `yarn run`, `yarn exec`, `yarn dlx`. */
function viaYarn(rest: readonly string[], ctx: Context): Unwrapped {
  const [verb, ...more] = rest;
  if (verb === 'exec')
    return nameThen(more, 'yarn exec', (bin) => unwrap([bin, ...more.slice(1)], ctx, false));
  if (verb === 'dlx') return viaNpx(more, ctx);
  if (verb === 'run') return nameThen(more, 'yarn run', (n) => viaScript(n, more.slice(1), ctx, true));
  return nameThen(rest, 'yarn', (n) =>
    MANAGER_COMMANDS.has(n) ? unread(`yarn ${n} is yarn's own command`) : viaScript(n, more, ctx, true),
  );
}

/** Through `bun run <script|bin>`, `bun <script>`, `bun x`. */
function viaBun(rest: readonly string[], ctx: Context): Unwrapped {
  const [verb, ...more] = rest;
  if (verb === 'x') return viaNpx(more, ctx);
  if (verb === 'run') return nameThen(more, 'bun run', (n) => viaScript(n, more.slice(1), ctx, true));
  return nameThen(rest, 'bun', (n) =>
    MANAGER_COMMANDS.has(n) ? unread(`bun ${n} is bun's own command`) : viaScript(n, more, ctx, true),
  );
}

function nameThen(rest: readonly string[], who: string, then: (name: string) => Unwrapped): Unwrapped {
  const name = named(rest, who);
  return typeof name === 'string' ? then(name) : name;
}

/** `python [-u] -m module args`, `python script.py args`. */
function viaPython(rest: readonly string[], ctx: Context): Unwrapped {
  let i = 0;
  while (rest[i] !== undefined && /^-[BEIOqsuv]+$/.test(rest[i]!)) i++;
  const word = rest[i];
  if (word === '-m' && rest[i + 1] !== undefined) return done(rest[i + 1]!, rest.slice(i + 2), ctx);
  if (word?.endsWith('.py')) return done(baseName(word), rest.slice(i + 1), ctx);
  return unread('python runs neither -m nor a script');
}

function done(program: string, args: readonly string[], ctx: Context): Unwrapped {
  return { ok: true, inv: { program, args, separator: ctx.separator } };
}

/**
 * Looks through the launchers in front of the tool. `shell`: the words come
 * from a shell line, where leading `NAME=value` words are assignments.
 */
function unwrap(words: readonly string[], ctx: Context, shell: boolean): Unwrapped {
  let i = 0;
  if (shell) while (words[i] !== undefined && isAssignment(words[i]!)) i++;
  const program = words[i];
  if (program === undefined) return unread('the command sets variables only');
  const rest = words.slice(i + 1);
  const base = baseName(program);
  switch (base) {
    case 'env':
    case 'cross-env': {
      let j = 0;
      while (rest[j] !== undefined && isAssignment(rest[j]!)) j++;
      if (rest[j]?.startsWith('-')) return unread(`${base}'s flag ${rest[j]}`);
      return unwrap(rest.slice(j), ctx, false);
    }
    case 'dotenv': {
      const dashes = rest.indexOf('--');
      return dashes === -1 ? unread('dotenv without --') : unwrap(rest.slice(dashes + 1), ctx, false);
    }
    case 'npx':
    case 'bunx':
    case 'pnpx':
      return viaNpx(rest, ctx);
    case 'npm':
      return viaNpm(rest, ctx);
    case 'pnpm':
      return viaPnpm(rest, ctx);
    case 'yarn':
      return viaYarn(rest, ctx);
    case 'bun':
      return viaBun(rest, ctx);
    case 'uv':
    case 'poetry':
    case 'pipenv':
    case 'bundle': {
      const verb = base === 'bundle' ? 'exec' : 'run';
      if (rest[0] !== verb) return unread(`${base} ${rest[0] ?? ''} is not ${base} ${verb}`.trim());
      return nameThen(rest.slice(1), `${base} ${verb}`, () => unwrap(rest.slice(1), ctx, false));
    }
    default:
      if (PYTHON.test(base)) return viaPython(rest, ctx);
      return done(base, rest, ctx);
  }
}

/** The first word that is not a flag (or a flag's value), or `null`. */
function subcommand(args: readonly string[], tool: DevTool): string | null {
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--') return null;
    if (!word.startsWith('-')) return word;
    if (tool.valueFlags?.includes(word)) i++;
  }
  return null;
}

/** The tool of the table that `inv` runs, or `null`. */
export function findTool(program: string, args: readonly string[]): DevTool | null {
  return (
    DEV_TOOLS.find((tool) => {
      if (!tool.programs.includes(program)) return false;
      const sub = subcommand(args, tool);
      if (tool.commands !== undefined) return tool.commands.includes(sub);
      return sub === null || !(tool.notCommands ?? []).includes(sub);
    }) ?? null
  );
}

/** The argument that names the tool's port in `args`, or `null`. */
function portNamedBy(args: readonly string[], tool: DevTool): string | null {
  for (const [i, word] of args.entries()) {
    for (const flag of tool.portFlags) {
      if (word === flag && args[i + 1] !== undefined) return `${flag} ${args[i + 1]}`;
      if (word.startsWith(`${flag}=`)) return word;
      // A short flag with its value glued on: -p3000.
      if (/^-[A-Za-z]$/.test(flag) && word.startsWith(flag) && /^\d+$/.test(word.slice(2))) return word;
    }
  }
  if (tool.positionalPort) {
    const sub = subcommand(args, tool);
    const after = tool.commands === undefined ? args : args.slice(args.indexOf(sub ?? '') + 1);
    const word = after.find((w) => !w.startsWith('-') && /(^|:)\d{1,5}$/.test(w));
    if (word !== undefined) return word;
  }
  return null;
}

/** The arguments with `{port}` replaced. */
export function withPort(args: readonly string[], port: number): string[] {
  return args.map((a) => a.replaceAll('{port}', String(port)));
}

/** `command` with `args` at its end, after `--` when `separator`. */
function appended(command: RunCommand, args: readonly string[], separator: boolean): RunCommand {
  const tail = separator ? ['--', ...args] : [...args];
  if (command.kind === 'exec') return { kind: 'exec', argv: [...command.argv, ...tail] };
  return { kind: 'shell', line: `${command.line.trimEnd()} ${tail.map(shellQuote).join(' ')}` };
}

/** A known tool that does not read PORT named anywhere in a shell line (for the hint). */
function toolInLine(line: string): DevTool | null {
  for (const word of line.split(/[\s;&|()`$<>]+/)) {
    const tool = DEV_TOOLS.find((t) => t.programs.includes(baseName(word)) && !t.readsPort);
    if (tool) return tool;
  }
  return null;
}

/** `--port $PORT --strictPort`: the tool's arguments as a user writes them in a shell line. */
function inLine(tool: DevTool): string {
  return [...tool.portArgs.map((a) => a.replaceAll('{port}', '$PORT')), ...tool.strictArgs].join(' ');
}

const kept = (
  command: RunCommand,
  tool: DevTool | null,
  why: Kept,
  message: string | null,
): PortArgsPlan => ({
  command,
  args: [],
  tool,
  kept: why,
  message,
});

/**
 * Plans the command berth runs for a service on `port` (see the module comment).
 *
 * @example
 * planPortArgs({ command: { kind: 'shell', line: 'npm run dev' }, port: 20001, setting: true, scripts: { dev: 'vite' } })
 * // { command: { kind: 'shell', line: 'npm run dev -- --port 20001 --strictPort' }, args: ['--port', '20001', '--strictPort'],
 * //   tool: <vite>, kept: null, message: 'vite does not read PORT; running it with --port 20001 --strictPort' }
 */
export function planPortArgs(request: PortArgsRequest): PortArgsPlan {
  const { command, port, setting } = request;
  const custom = Array.isArray(setting) ? withPort(setting as readonly string[], port) : null;
  let words: readonly string[];
  if (command.kind === 'shell') {
    const read = shellWords(command.line);
    if (!read.simple) {
      const tool = toolInLine(command.line);
      const why: Kept = { reason: 'shell', construct: read.construct, script: null };
      return kept(command, tool, why, shellMessage(why, tool, custom !== null));
    }
    words = read.words;
  } else {
    words = command.argv;
  }
  const found = unwrap(
    words,
    { scripts: request.scripts, inScript: false, separator: false },
    command.kind === 'shell',
  );
  if (!found.ok) {
    const k = found.kept;
    if (k.reason === 'shell') {
      const tool = toolInLine(request.scripts?.[k.script ?? ''] ?? '');
      return kept(command, tool, k, shellMessage(k, tool, custom !== null));
    }
    const why = k.reason === 'unread' ? k.why : k.reason;
    const message =
      custom !== null ? `berth cannot tell where portArgs go (${why}); running the command as written` : null;
    return kept(command, null, k, message);
  }
  const { program, args: toolArgs, separator } = found.inv;
  const tool = findTool(program, toolArgs);
  if (setting === false) return kept(command, tool, { reason: 'off' }, null);
  if (toolArgs.includes('--')) {
    return kept(command, tool, { reason: 'unread', why: 'the command passes -- to the tool' }, null);
  }
  if (custom !== null) {
    return {
      command: appended(command, custom, separator),
      args: custom,
      tool,
      kept: null,
      message: `running it with ${custom.map(shellQuote).join(' ')} (portArgs)`,
    };
  }
  if (tool === null) return kept(command, null, { reason: 'unread', why: 'not a tool berth knows' }, null);
  const by = portNamedBy(toolArgs, tool);
  if (by !== null) {
    const message = `the command gives ${tool.name} its port itself (${by}); running it as written`;
    return kept(command, tool, { reason: 'named', by }, message);
  }
  const args = withPort([...tool.portArgs, ...tool.strictArgs], port);
  if (args.length === 0) return { command, args, tool, kept: null, message: null };
  const shown = args.map(shellQuote).join(' ');
  const message = tool.readsPort
    ? `${tool.name} reads PORT but moves to another port when it is taken; running it with ${shown}`
    : `${tool.name} does not read PORT; running it with ${shown}`;
  return { command: appended(command, args, separator), args, tool, kept: null, message };
}

function shellMessage(
  why: Extract<Kept, { reason: 'shell' }>,
  tool: DevTool | null,
  custom: boolean,
): string | null {
  const where = why.script === null ? 'the command' : `the "${why.script}" script`;
  const head = `${where} is a shell line with ${why.construct}, so berth adds no port arguments`;
  if (custom) return `${head}; put them in the line yourself ($PORT is the port)`;
  if (tool === null) return null;
  return `${head}; give ${tool.name} its port in the line (${inLine(tool)})`;
}
