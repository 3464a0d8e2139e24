/**
 * A service whose own processes listen on another port than berth's: which
 * listeners count (those seen a while before berth's port is bound, not a
 * debugger's), and the warning's words: the process, its port, berth's port,
 * and the fix, which depends on what berth did with the command
 * (port-args.ts). Pure.
 */
import type { PortArgsPlan } from './port-args.js';

/** How long a listener on another port must stay before it is reported, in milliseconds: a tool that opens a side port just before berth's is not wrong. */
export const WRONG_PORT_GRACE_MS = 1_000;

/** How often the service's tree is looked at while berth's port is not bound, in milliseconds. */
export const WRONG_PORT_POLL_MS = 500;

/** A listener of the service's tree, as the warning names it. */
export interface StrayListener {
  pid: number;
  command: string | null;
  port: number;
}

/** Node's inspector (`--inspect`, `--inspect-brk`, `--inspect-wait`) opens its own port before the server binds; never a wrong port. */
export function isInspector(command: string | null): boolean {
  return command !== null && /(^|\s)--inspect(-brk|-wait)?(=|\s|$)/.test(command);
}

/** `--port $PORT --strictPort`: how a user gives the tool its port in a shell line. */
function flagsInLine(plan: PortArgsPlan): string {
  const tool = plan.tool!;
  return [...tool.portArgs.map((a) => a.replaceAll('{port}', '$PORT')), ...tool.strictArgs].join(' ');
}

/**
 * What to do about it, given what berth did with the command.
 *
 * @example
 * wrongPortFix(plan, 'web') // 'services.web has "portArgs": false; remove it so berth adds vite\'s --port and --strictPort, or write --port $PORT --strictPort in the command'
 */
export function wrongPortFix(plan: PortArgsPlan, service: string): string {
  const { tool, kept } = plan;
  const config = `services.${service}`;
  const generic = `make the command listen on $PORT, or set "portArgs" on ${config} to the flag that sets its port, e.g. ["--port", "{port}"]`;
  if (tool === null) return `berth does not know this tool: ${generic}`;
  const ownArgs = tool.portArgs.length > 0 ? flagsInLine(plan) : null;
  if (kept?.reason === 'off') {
    return ownArgs === null
      ? `${config} has "portArgs": false and ${tool.name} reads PORT; check that nothing overrides it (its config, .env)`
      : `${config} has "portArgs": false; remove it so berth adds ${tool.name}'s flags, or write ${ownArgs} in the command`;
  }
  if (kept?.reason === 'named') {
    return `the command gives ${tool.name} its port itself (${kept.by}); remove that so berth passes its own, or use $PORT there`;
  }
  if (kept?.reason === 'shell') {
    return `the command is a shell line berth does not change (${kept.construct}); give ${tool.name} its port in it${ownArgs === null ? ' ($PORT)' : ` (${ownArgs})`}`;
  }
  if (plan.args.length > 0) {
    return `${tool.name} was given ${plan.args.join(' ')} and still listens elsewhere: check its own config, or ${generic}`;
  }
  return `${tool.name} reads PORT, yet listens elsewhere: check that nothing overrides it (its config, .env), or ${generic}`;
}

/**
 * The warning's line.
 *
 * @example
 * wrongPortLine({ pid: 4242, command: 'node vite', port: 5174 }, 20001, 'fix...')
 * // 'pid 4242 (node vite) listens on port 5174, not on berth\'s port 20001: fix...'
 */
export function wrongPortLine(listener: StrayListener, port: number, fix: string): string {
  const who = `pid ${listener.pid}${listener.command ? ` (${listener.command})` : ''}`;
  return `${who} listens on port ${listener.port}, not on berth's port ${port}: ${fix}`;
}
