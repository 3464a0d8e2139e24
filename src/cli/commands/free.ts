/**
 * `berth free <port> [--force] [--grace 3s] [--json]`: stops the process that
 * listens on a port. Only the user's own processes, never pid 1, berth itself
 * or its parent (the process stopper decides); ownership of the port is
 * re-checked right before each signal (src/compose/free-port.ts). No shell
 * anywhere: pids come from /proc (or lsof/netstat run with argument arrays)
 * and signals from kill(2). This file parses the arguments and prints.
 */
import { createMachineAdapters } from '../../compose/context.js';
import { freePort, type StopAttempt } from '../../compose/free-port.js';
import { hiddenFreeNote, hiddenHolders } from '../../compose/who.js';
import type { PortHolder, StopOutcome } from '../../core/facts.js';
import { BerthError } from '../../errors.js';
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

/** What happened to one process. */
export interface FreeResult {
  pid: number;
  command: string | null;
  outcome: StopOutcome | 'refused';
  /** The human line. */
  message: string;
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

/** The JSON and human view of one stop attempt. */
function freeResult(a: StopAttempt, port: number, graceMs: number, force: boolean): FreeResult {
  const { pid, command } = a.holder;
  const message =
    a.outcome === 'refused'
      ? `refused: ${a.refusal}`
      : outcomeMessage(a.holder, a.outcome, port, graceMs, force);
  return { pid, command, outcome: a.outcome, message };
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

  const adapters = createMachineAdapters();
  const report = await freePort(adapters, port, { force, graceMs });
  const { before, after, failed, stillHeld } = report;
  const results = report.attempts.map((a) => freeResult(a, port, graceMs, force));

  if (values.json) {
    io.out(
      JSON.stringify(
        {
          port,
          processes: results,
          hidden: hiddenHolders(adapters, before.hidden).map((h) => ({
            address: h.address,
            uid: h.uid,
            reason: h.kind === 'other-user' ? 'other-user' : 'unknown',
          })),
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
    for (const h of hiddenHolders(adapters, before.hidden)) {
      io.out(io.paint.red(hiddenFreeNote(h, port, results.length > 0)));
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
