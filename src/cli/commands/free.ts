/**
 * `berth free <port> [--force] [--grace 3s] [--json]`: stops the process that
 * listens on a port. Only the user's own processes, never pid 1, berth itself
 * or its parent (src/adapters/process/signal.ts decides); ownership of the port
 * is re-checked right before each signal. No shell anywhere: pids come from
 * /proc (or lsof/netstat run with argument arrays) and signals from kill(2).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readListenersAsync } from '../../adapters/net/procnet.js';
import { findPortHolders, type PortHolder, type PortHolders } from '../../adapters/process/holders.js';
import { type StopOutcome, stopProcess } from '../../adapters/process/signal.js';
import { parentOf } from '../../compose/foreign.js';
import { descendsFrom } from '../../core/diagnose.js';
import { BerthError, isBerthError } from '../../errors.js';
import { parseCommand, parsePortArg } from '../args.js';
import { parseDuration } from '../duration.js';
import type { Command } from '../io.js';

const HELP = `Usage: berth free <port> [--force] [--grace 3s] [--json]

Stops the process listening on the port with SIGTERM and waits --grace
(default 3s) for it to exit. With --force, a process still running after the
grace period gets SIGKILL. Only your own processes; never pid 1, berth itself
or the shell that started it. Exits 0 once the port is free (also when nothing
listened), 1 when a process was refused or survived, or the port is still held.`;

/** Default wait after SIGTERM, in milliseconds. */
export const FREE_GRACE_MS = 3000;

/**
 * How long to wait for the kernel to close a stopped process's sockets, in
 * milliseconds. The thread-group leader of a multi-threaded process (node)
 * shows as exited while its other threads still run their exit and hold the
 * fd table, so the listening socket can outlive the "exited" state briefly.
 */
const SOCKET_RELEASE_WAIT_MS = 1000;

/** How often that wait re-reads the kernel's table, in milliseconds. */
const SOCKET_RELEASE_POLL_MS = 25;

/** What happened to one process. */
export interface FreeResult {
  pid: number;
  command: string | null;
  outcome: StopOutcome | 'refused';
  /** The human line. */
  message: string;
}

/** Who listens now, from a fresh read of the kernel's table (no cache: the answer must be current). */
async function holdersNow(port: number): Promise<PortHolders> {
  return findPortHolders(port, await readListenersAsync());
}

/**
 * The distinct processes to stop, parents before their children (stopping a
 * parent often takes its workers with it; they then count as gone).
 *
 * @example
 * stopOrder(holders, (pid) => parents.get(pid) ?? null).map((h) => h.pid);
 */
export function stopOrder(
  holders: readonly PortHolder[],
  parentOf: (pid: number) => number | null,
): PortHolder[] {
  const unique = [...new Map(holders.map((h) => [h.pid, h])).values()];
  const depth = (h: PortHolder) =>
    unique.filter((other) => other.pid !== h.pid && descendsFrom(h.pid, other.pid, parentOf) === true).length;
  return unique
    .map((h) => ({ h, d: depth(h) }))
    .sort((a, b) => a.d - b.d || a.h.pid - b.h.pid)
    .map(({ h }) => h);
}

/** The line for an outcome. */
export function outcomeMessage(
  holder: Pick<PortHolder, 'pid' | 'command'>,
  outcome: StopOutcome,
  port: number,
  graceMs: number,
  force: boolean,
): string {
  const who = holder.command ? `pid ${holder.pid} (${holder.command})` : `pid ${holder.pid}`;
  const grace = `${graceMs / 1000}s`;
  switch (outcome) {
    case 'stopped':
      return `stopped ${who} with SIGTERM`;
    case 'killed':
      return `${who} ignored SIGTERM for ${grace}; killed it with SIGKILL`;
    case 'gone':
      return `${who} no longer holds port ${port}; nothing was signalled`;
    case 'survived':
      return force
        ? `${who} survived SIGKILL (stuck in the kernel?); check it with \`ps -o stat= -p ${holder.pid}\``
        : `${who} is still running ${grace} after SIGTERM. Use --force to send SIGKILL after the grace period.`;
  }
}

async function stopOne(
  holder: PortHolder,
  port: number,
  force: boolean,
  graceMs: number,
): Promise<FreeResult> {
  const base = { pid: holder.pid, command: holder.command };
  try {
    const outcome = await stopProcess(holder.pid, {
      force,
      graceMs,
      uid: holder.uid,
      stillOwnsPort: async () => (await holdersNow(port)).holders.some((h) => h.pid === holder.pid),
    });
    return { ...base, outcome, message: outcomeMessage(holder, outcome, port, graceMs, force) };
  } catch (error) {
    if (!isBerthError(error, 'E_REFUSED')) throw error;
    return { ...base, outcome: 'refused', message: `refused: ${error.message}` };
  }
}

/** Who listens after the signals; when every process ended, waits for the kernel to close their sockets. */
async function settled(port: number, allEnded: boolean): Promise<PortHolders> {
  const deadline = Date.now() + (allEnded ? SOCKET_RELEASE_WAIT_MS : 0);
  for (;;) {
    const now = await holdersNow(port);
    if (now.holders.length + now.hidden.length === 0 || Date.now() >= deadline) return now;
    await sleep(SOCKET_RELEASE_POLL_MS);
  }
}

const free: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('free', argv, {
    force: { type: 'boolean', short: 'f' },
    grace: { type: 'string' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new BerthError('E_USAGE', 'free takes exactly one port, e.g. `berth free 3000`.');
  }
  const port = parsePortArg(positionals[0]);
  const graceMs = values.grace === undefined ? FREE_GRACE_MS : parseDuration(values.grace, '--grace');
  const force = values.force === true;

  const before = await holdersNow(port);
  const results: FreeResult[] = [];
  for (const holder of stopOrder(before.holders, parentOf)) {
    results.push(await stopOne(holder, port, force, graceMs));
  }
  const failed = results.some((r) => r.outcome === 'refused' || r.outcome === 'survived');
  const after = before.holders.length + before.hidden.length === 0 ? before : await settled(port, !failed);
  const stillHeld = after.holders.length + after.hidden.length > 0;

  if (values.json) {
    io.out(
      JSON.stringify(
        {
          port,
          processes: results,
          hidden: before.hidden.map((h) => ({ address: h.address, uid: h.uid, reason: h.reason })),
          free: !stillHeld,
        },
        null,
        2,
      ),
    );
  } else if (before.holders.length + before.hidden.length === 0) {
    io.out(`nothing listens on port ${port}; it is free`);
  } else {
    for (const r of results)
      io.out(r.outcome === 'refused' || r.outcome === 'survived' ? io.paint.red(r.message) : r.message);
    const also = results.length > 0 ? ' also' : '';
    for (const h of before.hidden) {
      io.out(
        io.paint.red(
          h.reason === 'other-user'
            ? `port ${port} is${also} held on ${h.address} by another user's process (uid ${h.uid ?? '?'}); berth only stops your own processes. Ask its owner, or stop it with the rights to do so.`
            : `port ${port} is${also} held on ${h.address} by a process berth cannot see (another pid namespace?); stop it where it runs.`,
        ),
      );
    }
    if (!stillHeld) io.out(`port ${port} is free`);
    else if (!failed && before.hidden.length === 0) {
      const now = after.holders.map((h) => `pid ${h.pid}`).join(', ') || 'a hidden process';
      io.out(io.paint.red(`port ${port} is held again, by ${now} (restarted by a supervisor?)`));
    }
  }
  // The goal is a free port: `berth free 3000 && npm start` goes on when nothing listened to begin with.
  return stillHeld || failed ? 1 : 0;
};

export default free;
