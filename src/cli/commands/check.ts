/**
 * `berth check [service...] [--json] [--fix]`: one row per lease of the project
 * (this checkout and environment): who holds its port, whether that is the
 * lease's owner, and the service's health. The diagnosis comes from
 * src/compose/diagnostics.ts (facts) and src/core/diagnose.ts (verdicts); this
 * file prints it, and with --fix releases or moves what is wrong.
 */
import { diagnoseLeases, leasedServices } from '../../compose/diagnostics.js';
import { type FixOutcome, fixLeases } from '../../compose/fix.js';
import { projectOf } from '../../compose/project.js';
import { describeOrphans, type StackStatus, stackStatus } from '../../compose/stack/status.js';
import { isProblem, type PortHolderFact, type ServiceDiagnosis } from '../../core/diagnose.js';
import type { CommandIO } from '../io.js';
import { projectCommand } from '../project.js';
import { table } from '../style.js';

const HELP = `Usage: berth check [service...] [--fix] [--json]

Checks every lease of this project (this checkout and environment), or the
named services: who listens on the port and whether the service is healthy.

States: free (nothing listens), bound (the lease's owner, or something it
started, listens; for leases made by \`berth assign\`, anything listening),
foreign (a process berth did not lease holds the port), owner-dead and
expired (the lease is stale). Health runs only on bound ports; a free port's
service is "not running", which is not a failure.

  --fix   release stale leases, and (with autoReassign) move leases whose
          port a foreign process took, printing each move

Also reports processes a killed \`berth up\` left running (\`berth down\` stops them).

Exits 0 when every service is healthy or not running (or cannot be checked);
exits 1 when a port is foreign, a lease is stale, a bound port fails its
health check, or a killed \`berth up\` left processes.`;

/** Longest command line shown in the table; the JSON has it whole. */
const COMMAND_COLUMN_CHARS = 48;

/** `pid 4242 (node server.js)`, or "another user's process" when berth cannot see it. */
export function describeHolder(holder: PortHolderFact | null): string {
  if (holder === null) return "another user's process";
  return holder.command ? `pid ${holder.pid} (${holder.command})` : `pid ${holder.pid}`;
}

/** The JSON of `berth check --json`. */
export function checkJson(rows: readonly ServiceDiagnosis[]) {
  return {
    ok: !rows.some(isProblem),
    services: rows.map((r) => ({
      service: r.service,
      port: r.port,
      state: r.state,
      holder: r.holder ? { pid: r.holder.pid, command: r.holder.command } : null,
      health: { status: r.health.status, reason: r.health.reason, latencyMs: r.health.latencyMs },
    })),
  };
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function printRows(rows: readonly ServiceDiagnosis[], io: CommandIO): void {
  const { paint } = io;
  const stateCell = (r: ServiceDiagnosis) =>
    r.state === 'bound'
      ? paint.green(r.state)
      : r.state === 'free'
        ? r.state
        : r.state === 'foreign'
          ? paint.yellow(r.state)
          : paint.red(r.state);
  const healthCell = ({ health }: ServiceDiagnosis) => {
    if (health.status === 'healthy') return `${paint.green('healthy')} (${health.latencyMs} ms)`;
    if (health.status === 'unhealthy') return `${paint.red('unhealthy')}: ${health.reason}`;
    // Not started is a state, not a failure: no colour.
    if (health.status === 'not-running') return 'not running';
    return paint.dim(`unknown: ${health.reason}`);
  };
  const table_ = rows.map((r) => [
    r.service,
    String(r.port),
    stateCell(r),
    r.holder ? String(r.holder.pid) : '-',
    r.holder?.command ? shorten(r.holder.command, COMMAND_COLUMN_CHARS) : '-',
    healthCell(r),
  ]);
  io.out(table(['SERVICE', 'PORT', 'STATE', 'PID', 'COMMAND', 'HEALTH'], table_, { right: [1, 3] }));
}

/**
 * One line per problem, each ending with what to do. An inheriting service
 * shares its root's port, so a port problem is told once, for the root.
 */
function problemLines(rows: readonly ServiceDiagnosis[], autoReassign: boolean): string[] {
  const lines: string[] = [];
  const told = new Set<string>();
  for (const r of rows) {
    const portProblem = r.state === 'foreign' || r.state === 'owner-dead' || r.state === 'expired';
    if (portProblem && told.has(`${r.root}:${r.state}`)) continue;
    if (portProblem) told.add(`${r.root}:${r.state}`);
    const who = r.root === r.service ? r.service : `${r.service} (shares ${r.root}'s port)`;
    if (r.state === 'foreign') {
      const fix = autoReassign ? '`berth check --fix` moves the lease' : `\`berth free ${r.port}\` frees it`;
      const owner = r.ownerPid === null ? '' : ` (pid ${r.ownerPid})`;
      lines.push(
        `${who}: port ${r.port} is held by ${describeHolder(r.holder)}, not by the lease's owner${owner}; ${fix}.`,
      );
    } else if (r.state === 'owner-dead' || r.state === 'expired') {
      const why =
        r.state === 'expired' ? 'the lease expired' : `the lease's owner (pid ${r.ownerPid ?? '?'}) died`;
      lines.push(`${who}: ${why}; \`berth check --fix\` reclaims it.`);
    } else if (r.health.status === 'unhealthy') {
      lines.push(`${r.service}: unhealthy: ${r.health.reason}. Check the service's logs.`);
    }
  }
  return lines;
}

/** The line `--fix` prints for one outcome; returns whether the problem is fixed. */
function fixLine(o: FixOutcome, say: (line: string) => void): boolean {
  switch (o.kind) {
    case 'reclaimed':
      say(
        `reclaimed ${o.service}'s lease on port ${o.port}: ${o.reason === 'expired' ? 'it expired' : `owner pid ${o.ownerPid ?? '?'} died`}`,
      );
      return true;
    case 'moved':
      say(`${o.service} moved from ${o.from} to ${o.to}: ${o.from} taken by ${describeHolder(o.holder)}`);
      if (o.ownerPid !== null)
        say(
          `  pid ${o.ownerPid} (the lease's owner) was started with port ${o.from}; restart it to use ${o.to}.`,
        );
      return true;
    case 'kept':
      if (o.why === 'not-in-config') {
        say(
          `${o.service}'s lease on port ${o.port} is stale, but ${o.service} is no longer in the config; leaving it.`,
        );
        return false;
      }
      say(
        o.why === 'port-freed'
          ? `${o.service} keeps port ${o.port}: the process that took it is gone.`
          : `${o.service}'s lease changed while berth checked it (another berth process); left as it is.`,
      );
      return true;
    case 'failed':
      say(`could not move ${o.service} off port ${o.port}: ${o.message} The lease is unchanged.`);
      return false;
    case 'stuck':
      say(
        `${o.service}: port ${o.port} is taken by ${describeHolder(o.holder)}; autoReassign is off, so the lease stays. Free the port (\`berth free ${o.port}\`) or move it (\`berth release ${o.service} && berth assign ${o.service}\`).`,
      );
      return false;
  }
}

/** The processes a killed `berth up` left, for the JSON and the problem lines. */
function orphansOf(status: StackStatus) {
  if (status.state !== 'orphaned') return [];
  return status.orphans.map((r) => ({
    service: r.service,
    pid: r.group!.pid,
    pgid: r.group!.pgid,
    runnerPid: status.runner.pid,
  }));
}

export default projectCommand({
  name: 'check',
  help: HELP,
  options: { fix: { type: 'boolean' } },
  run: async ({ values, positionals, pm, io }) => {
    let rows = await diagnoseLeases(pm, leasedServices(pm, positionals));
    let fixed = true;
    const fixing = values.fix === true && rows.some(isProblem);
    if (fixing) {
      // Keep stdout pure JSON under --json; the moves go to stderr then.
      const say = values.json ? io.err : io.out;
      fixed = (await fixLeases(pm, rows)).map((o) => fixLine(o, say)).every(Boolean);
      const still = positionals.filter((name) => pm.leases().some((l) => l.service === name));
      rows =
        positionals.length > 0 && still.length === 0
          ? []
          : await diagnoseLeases(pm, leasedServices(pm, still));
    }
    const stack = stackStatus(pm.adapters, projectOf(pm.config, pm.adapters));
    const orphans = orphansOf(stack);
    const ok = fixed && !rows.some(isProblem) && orphans.length === 0;
    if (values.json) {
      io.out(JSON.stringify({ ...checkJson(rows), orphans, ok }, null, 2));
      return ok ? 0 : 1;
    }
    const orphanLine =
      stack.state === 'orphaned'
        ? `berth up (pid ${stack.runner.pid}) was killed and left processes running: ${describeOrphans(stack.orphans)}; \`berth down\` stops them.`
        : null;
    if (rows.length === 0) {
      io.out('no leases for this project; run `berth assign`');
      if (orphanLine) io.out(`${io.paint.red('✖')} ${orphanLine}`);
      return ok ? 0 : 1;
    }
    if (fixing) io.out('');
    printRows(rows, io);
    const problems = problemLines(rows, pm.config.autoReassign);
    if (orphanLine) problems.push(orphanLine);
    if (problems.length > 0) {
      io.out('');
      for (const line of problems) io.out(`${io.paint.red('✖')} ${line}`);
    }
    return ok ? 0 : 1;
  },
});
