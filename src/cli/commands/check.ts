/**
 * `berth check [service...] [--json] [--fix]`: one row per lease of the project
 * (this checkout and environment): who holds its port, whether that is the
 * lease's owner, and the service's health. The diagnosis comes from
 * src/compose/diagnostics.ts (facts) and src/core/diagnose.ts (verdicts); this
 * file prints it, and with --fix releases or moves what is wrong.
 */
import { diagnoseLeases, leasedServices } from '../../compose/diagnostics.js';
import type { PortManager } from '../../compose/manager.js';
import { projectOf } from '../../compose/project.js';
import { describeOrphans, type StackStatus, stackStatus } from '../../compose/stack/status.js';
import { isProblem, type PortHolderFact, planFixes, type ServiceDiagnosis } from '../../core/diagnose.js';
import { parseCommand } from '../args.js';
import type { Command, CommandIO } from '../io.js';
import { openProject } from '../project.js';
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

/**
 * Applies `--fix`: releases stale leases, moves foreign-held ones when
 * autoReassign is on. Reports each action through `say`; returns false when
 * something could not be fixed.
 */
async function applyFixes(pm: PortManager, rows: readonly ServiceDiagnosis[], say: (line: string) => void) {
  const plan = planFixes(rows, pm.config.autoReassign);
  const known = new Set(pm.config.services.map((s) => s.name));
  const leases = new Map(pm.leases().map((l) => [l.service, l]));
  let fixed = true;
  for (const r of plan.reclaim) {
    if (!known.has(r.root)) {
      say(
        `${r.root}'s lease on port ${r.port} is stale, but ${r.root} is no longer in the config; leaving it.`,
      );
      fixed = false;
      continue;
    }
    const why = r.state === 'expired' ? 'it expired' : `owner pid ${r.ownerPid ?? '?'} died`;
    await pm.release(r.root);
    say(`reclaimed ${r.root}'s lease on port ${r.port}: ${why}`);
  }
  for (const r of plan.move) {
    const lease = leases.get(r.root);
    if (!known.has(r.root) || !lease) continue;
    const removed = await pm.release(r.root);
    const services = [...new Set(removed.map((l) => l.service))].filter((s) => known.has(s));
    const now = pm.adapters.now();
    try {
      // The lease keeps its owner and what is left of its lifetime; the planner skips the
      // taken port by itself, since the foreign listener is in the kernel's table.
      const result = await pm.assignServices(services, {
        owner: lease.owner,
        ttlMs: lease.expiresAt === null ? null : Math.max(1, lease.expiresAt - now),
      });
      const to = result.services[r.root]?.port;
      say(`${r.root} moved from ${r.port} to ${to}: ${r.port} taken by ${describeHolder(r.holder)}`);
      if (lease.owner) {
        say(
          `  pid ${lease.owner.pid} (the lease's owner) was started with port ${r.port}; restart it to use ${to}.`,
        );
      }
    } catch (error) {
      fixed = false;
      say(`could not move ${r.root} off port ${r.port}: ${(error as Error).message}`);
    }
  }
  for (const r of plan.stuck) {
    fixed = false;
    say(
      `${r.root}: port ${r.port} is taken by ${describeHolder(r.holder)}; autoReassign is off, so the lease stays. Free the port (\`berth free ${r.port}\`) or move it (\`berth release ${r.root} && berth assign ${r.root}\`).`,
    );
  }
  return fixed;
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

const check: Command = async (argv, io) => {
  const { values, positionals } = parseCommand('check', argv, { fix: { type: 'boolean' } });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const pm = await openProject(values, io.err);
  try {
    let rows = await diagnoseLeases(pm, leasedServices(pm, positionals));
    let fixed = true;
    const fixing = values.fix === true && rows.some(isProblem);
    if (fixing) {
      // Keep stdout pure JSON under --json; the moves go to stderr then.
      fixed = await applyFixes(pm, rows, values.json ? io.err : io.out);
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
  } finally {
    pm.adapters.runs.close();
    pm.close();
  }
};

export default check;
