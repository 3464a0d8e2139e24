/**
 * The `ready` checks that look beyond the port: a line of the service's own
 * output (`output`), or a command that exits 0 (`command`). Either one alone
 * decides: a database in a container is ready when it says so, not when
 * docker's proxy binds the host port.
 */
import type { ProcessGroupRef } from '../../core/facts.js';
import type { CommandReadySpec, RunCommand } from '../../core/types.js';
import type { Adapters } from '../context.js';
import type { Readiness } from './readiness.js';
import { commandText } from './summary.js';

/** ANSI escape sequences (colours, cursor moves), as terminals and dev servers print them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what it matches
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/**
 * A line without its colour codes.
 *
 * @example
 * withoutColours('\u001b[32mready\u001b[39m in 200 ms') // 'ready in 200 ms'
 */
export function withoutColours(line: string): string {
  return line.replace(ANSI, '');
}

/** Watches one start's output for the `output` check's pattern. */
export class OutputMatcher {
  private matchedLine: string | null = null;
  private readonly regex: RegExp;
  private wake: () => void = () => {};
  /** Resolves at the first match. */
  readonly matched: Promise<void>;

  constructor(readonly pattern: string) {
    this.regex = new RegExp(pattern);
    this.matched = new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Looks at one line of the service's stdout or stderr. */
  push(line: string): void {
    if (this.matchedLine !== null || !this.regex.test(withoutColours(line))) return;
    this.matchedLine = line;
    this.wake();
  }

  /** Ready once a line matched. */
  probe(): Readiness {
    return this.matchedLine !== null
      ? { state: 'ready' }
      : { state: 'waiting', reason: `no line of its output matches /${this.pattern}/ yet` };
  }
}

/** What a command check runs with. */
export interface CommandCheckContext {
  cwd: string;
  /** The service's variables (PORT, `<NAME>_PORT`, ...). */
  env: Readonly<Record<string, string>>;
  port: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Ends a run in progress (the watch stopped). */
  signal: AbortSignal;
}

/** The command to run: a shell line as written, an argv with `{port}` replaced. */
function checkCommand(command: RunCommand, port: number): RunCommand {
  if (command.kind === 'shell') return command;
  const [file, ...args] = command.argv.map((a) => a.replaceAll('{port}', String(port)));
  return { kind: 'exec', argv: [file!, ...args] };
}

/**
 * A `command` check: each probe runs the command unless the last run began
 * less than `intervalMs` ago (then the last answer stands); ready at exit 0.
 * A run longer than `timeoutMs` is killed with its process group.
 *
 * @example
 * const probe = commandCheck(adapters, spec.run.ready, { cwd, env, port, sleep, signal });
 * await probe(); // { state: 'waiting', reason: 'its ready command `pg_isready -p 20001` exited with code 2: no response' }
 */
export function commandCheck(
  adapters: Pick<Adapters, 'spawner' | 'groups' | 'now'>,
  spec: CommandReadySpec,
  ctx: CommandCheckContext,
): () => Promise<Readiness> {
  const command = checkCommand(spec.command, ctx.port);
  const shown = `its ready command \`${commandText(command)}\``;
  let lastStart = Number.NEGATIVE_INFINITY;
  let last: Readiness = { state: 'waiting', reason: `${shown} has not run yet` };
  return async () => {
    if (adapters.now() - lastStart < spec.intervalMs) return last;
    lastStart = adapters.now();
    last = await runOnce();
    return last;
  };

  async function runOnce(): Promise<Readiness> {
    let proc: Awaited<ReturnType<Adapters['spawner']['spawn']>>;
    try {
      proc = await adapters.spawner.spawn({ command, cwd: ctx.cwd, env: ctx.env });
    } catch (error) {
      return { state: 'waiting', reason: `${shown} cannot start: ${(error as Error).message}` };
    }
    let lastLine = '';
    proc.onOutput((_stream, text) => {
      const lines = text
        .split('\n')
        .map((l) => withoutColours(l).trim())
        .filter((l) => l !== '');
      if (lines.length > 0) lastLine = lines[lines.length - 1]!;
    });
    const group: ProcessGroupRef = { pid: proc.pid, pgid: proc.pgid, startTime: proc.startTime };
    const timer = new AbortController();
    const onAbort = () => timer.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timedOut = ctx.sleep(spec.timeoutMs, timer.signal).then(
      () => 'timeout' as const,
      () => 'stopped' as const,
    );
    try {
      const outcome = await Promise.race([proc.exited, timedOut]);
      if (outcome === 'timeout' || outcome === 'stopped') {
        adapters.groups.signal(group, 'SIGKILL');
        await proc.exited;
        return { state: 'waiting', reason: `${shown} ran longer than its timeoutMs (${spec.timeoutMs} ms)` };
      }
      if (outcome.code === 0) return { state: 'ready' };
      const how = outcome.code === null ? `signal ${outcome.signal}` : `code ${outcome.code}`;
      return { state: 'waiting', reason: `${shown} exited with ${how}${lastLine ? `: ${lastLine}` : ''}` };
    } finally {
      timer.abort();
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }
}
