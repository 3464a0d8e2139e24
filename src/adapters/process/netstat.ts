/**
 * A pure parser for netstat's listening sockets, the fall-back where neither
 * /proc nor lsof is available: Windows `netstat -ano` and macOS
 * `netstat -anv -p tcp`.
 */
import { type CommandListener, splitAddressPort } from './command-listener.js';

/**
 * Windows' TCP states in English. netstat translates them on other display
 * languages; a state outside this list is judged by its foreign address instead.
 */
const WINDOWS_TCP_STATES = new Set([
  'CLOSED',
  'LISTENING',
  'SYN_SENT',
  'SYN_RECEIVED',
  'ESTABLISHED',
  'FIN_WAIT_1',
  'FIN_WAIT_2',
  'CLOSE_WAIT',
  'CLOSING',
  'LAST_ACK',
  'TIME_WAIT',
  'DELETE_TCB',
  'BOUND',
]);

/** `  TCP    [::1]:3000    [::]:0    LISTENING    1234` */
function parseWindows(text: string): CommandListener[] {
  const found: CommandListener[] = [];
  for (const line of text.split(/\r?\n/)) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length !== 5 || tokens[0]?.toUpperCase() !== 'TCP') continue;
    const [, local = '', foreign = '', state = '', pidText = ''] = tokens;
    const listening = WINDOWS_TCP_STATES.has(state)
      ? state === 'LISTENING'
      : splitAddressPort(foreign, ':')?.port === 0;
    const socket = splitAddressPort(local, ':');
    if (!listening || socket === null || !/^\d+$/.test(pidText)) continue;
    found.push({ pid: Number(pidText), command: null, user: null, uid: null, ...socket });
  }
  return found;
}

/** Header columns, with the two-word names joined so that they index data rows. */
function headerColumns(line: string): string[] {
  return line
    .replace('Local Address', 'Local-Address')
    .replace('Foreign Address', 'Foreign-Address')
    .trim()
    .split(/\s+/);
}

/**
 * macOS rows: `tcp4 0 0 127.0.0.1.3000 *.* LISTEN ... <pid column> ...`. Older
 * releases print a numeric `pid` (then `epid`); newer ones print
 * `process:pid` (`node:4242`), whose process name may contain spaces, so that
 * column is located from both ends of the row.
 */
function parseDarwin(text: string): CommandListener[] {
  const found: CommandListener[] = [];
  let columns: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const tokens = line.trim().split(/\s+/);
    if (tokens[0] === 'Proto') {
      columns = headerColumns(line);
      continue;
    }
    if (!tokens[0]?.startsWith('tcp') || tokens[5] !== 'LISTEN') continue;
    const socket = splitAddressPort(tokens[3] ?? '', '.');
    if (socket === null) continue;
    const pidAt = columns.indexOf('pid');
    const processAt = columns.indexOf('process:pid');
    if (processAt >= 0) {
      const after = columns.length - processAt - 1;
      const nameAndPid = tokens.slice(processAt, tokens.length - after).join(' ');
      const cut = nameAndPid.lastIndexOf(':');
      const pidText = nameAndPid.slice(cut + 1);
      if (cut < 0 || !/^\d+$/.test(pidText)) continue;
      const command = nameAndPid.slice(0, cut) || null;
      found.push({ pid: Number(pidText), command, user: null, uid: null, ...socket });
    } else if (pidAt >= 0 && /^\d+$/.test(tokens[pidAt] ?? '')) {
      found.push({ pid: Number(tokens[pidAt]), command: null, user: null, uid: null, ...socket });
    }
    // Without a pid column (netstat run without -v) a row names no process: nothing to report.
  }
  return found;
}

/**
 * Parses netstat output into the listening TCP sockets with their pids, for
 * every port in the output (filter by port afterwards). Addresses come back
 * without brackets; macOS's `*` (every address) stays `*`.
 *
 * @example
 * parseNetstatListen('  TCP    0.0.0.0:3000    0.0.0.0:0    LISTENING    1234\r\n', 'win32');
 * // [{ pid: 1234, command: null, user: null, uid: null, address: '0.0.0.0', port: 3000 }]
 */
export function parseNetstatListen(text: string, platform: 'win32' | 'darwin'): CommandListener[] {
  return platform === 'win32' ? parseWindows(text) : parseDarwin(text);
}
