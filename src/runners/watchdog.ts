/**
 * The watchdog process of a test run (src/compose/test-run/watchdog.ts): started
 * detached by the run's global setup, it waits for the runner to die, then stops
 * the run's services and releases its leases. Its payload comes in BERTH_WATCHDOG;
 * its lines go to the file BERTH_WATCHDOG_LOG names, when set.
 */
import { appendFileSync } from 'node:fs';
import {
  guardRun,
  WATCHDOG_LOG_VARIABLE,
  WATCHDOG_VARIABLE,
  type WatchdogPayload,
} from '../compose/test-run/watchdog.js';

/** Appends each line, with the time and this process's pid, to `file`; a line it cannot write is dropped. */
function fileLog(file: string): (line: string) => void {
  return (line) => {
    try {
      appendFileSync(file, `${new Date().toISOString()} watchdog ${process.pid}: ${line}\n`);
    } catch {
      // The log is for people looking into a run: it never stops the watchdog's work.
    }
  };
}

const payload = process.env[WATCHDOG_VARIABLE];
const logFile = process.env[WATCHDOG_LOG_VARIABLE];
if (payload) {
  guardRun(JSON.parse(payload) as WatchdogPayload, logFile ? { log: fileLog(logFile) } : {}).catch(
    (error: unknown) => {
      if (logFile) fileLog(logFile)(`failed: ${(error as Error).message}`);
      // Nobody reads its output: what it could not release, the next allocation reclaims.
      process.exitCode = 1;
    },
  );
}
