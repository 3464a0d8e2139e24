/**
 * The watchdog process of a test run (src/compose/test-run/watchdog.ts): started
 * detached by the run's global setup, it waits for the runner to die, then stops
 * the run's services and releases its leases. Its payload comes in BERTH_WATCHDOG.
 */
import { guardRun, WATCHDOG_VARIABLE, type WatchdogPayload } from '../compose/test-run/watchdog.js';

const payload = process.env[WATCHDOG_VARIABLE];
if (payload) {
  guardRun(JSON.parse(payload) as WatchdogPayload).catch(() => {
    // Nobody reads its output: what it could not release, the next allocation reclaims.
    process.exitCode = 1;
  });
}
