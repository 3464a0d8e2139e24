/**
 * A pure parser for lsof's field output, the fall-back off Linux (macOS, BSD):
 * `lsof -nP -iTCP:<port> -sTCP:LISTEN -F pcLun`. Each line is one field: a
 * letter, then the value. `p` starts a process set, `f` starts a file set
 * within it (lsof always adds `f`); see lsof(8), OUTPUT FOR OTHER PROGRAMS.
 */
import { type CommandListener, splitAddressPort } from './command-listener.js';

/**
 * Parses `lsof -nP -iTCP:<port> -sTCP:LISTEN -F pcLun` output into one entry
 * per (process, address, port). Several processes on one socket (a server that
 * forked after listen) each get their entry; duplicate fds of one process
 * collapse into one.
 *
 * @example
 * parseLsofListen('p4242\ncnode\nu501\nLada\nf23\nn*:3000\n');
 * // [{ pid: 4242, command: 'node', user: 'ada', uid: 501, address: '*', port: 3000 }]
 */
export function parseLsofListen(text: string): CommandListener[] {
  const found: CommandListener[] = [];
  const seen = new Set<string>();
  let current: { pid: number; command: string | null; login: string | null; uid: number | null } | null =
    null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const field = line[0];
    const value = line.slice(1);
    if (field === 'p') {
      current = /^\d+$/.test(value) ? { pid: Number(value), command: null, login: null, uid: null } : null;
      continue;
    }
    if (current === null) continue;
    if (field === 'c') current.command = value;
    else if (field === 'L') current.login = value;
    else if (field === 'u') current.uid = /^\d+$/.test(value) ? Number(value) : null;
    else if (field === 'n') {
      // Without -sTCP a name may carry the state (`*:3000 (LISTEN)`) or a peer (`a:1->b:2`).
      const name = value.replace(/\s+\(\w+\)$/, '');
      const socket = name.includes('->') ? null : splitAddressPort(name, ':');
      if (socket === null) continue;
      const key = `${current.pid} ${socket.address} ${socket.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const user = current.login ?? (current.uid === null ? null : String(current.uid));
      found.push({ pid: current.pid, command: current.command, user, uid: current.uid, ...socket });
    }
  }
  return found;
}
