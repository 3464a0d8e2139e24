/**
 * The process adapter: who owns a lease and whether it lives, who holds a
 * port, and how to stop it. Linux reads /proc; elsewhere lsof and netstat.
 */
export type { CommandListener } from './command-listener.js';
export { splitAddressPort } from './command-listener.js';
export type { FindPortHoldersOptions, HiddenListener, PortHolder, PortHolders } from './holders.js';
export { findPortHolders } from './holders.js';
export type { ProcessInfo } from './info.js';
export {
  CLOCK_TICKS_PER_SECOND,
  parseBootTime,
  parseCmdline,
  parsePasswd,
  processInfo,
  startedAtFromTicks,
} from './info.js';
export type { CommandResult, CommandRunner, ListListenersOptions } from './listeners-by-command.js';
export { LISTENER_COMMAND_TIMEOUT_MS, listListenersByCommand, runCommand } from './listeners-by-command.js';
export { parseLsofListen } from './lsof.js';
export { parseNetstatListen } from './netstat.js';
export type { StopOptions, StopOutcome, StopSelf, StopTarget } from './signal.js';
export { KILL_WAIT_MS, STOP_POLL_INTERVAL_MS, stopProcess, whyNotStop } from './signal.js';
export type { FdTable, SocketOwners } from './sockets.js';
export { parseSocketLink, procFdTable, socketOwners } from './sockets.js';
export type { ProcStat } from './stat.js';
export { isPid, parseProcStat, readProcStat, readStartTime } from './stat.js';
export { parseStatusUid, readProcessUid } from './status.js';
export { createProcessTable } from './table.js';
