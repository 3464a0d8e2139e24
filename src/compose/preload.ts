/**
 * What every getPort() needs, loaded when a library entry (`berth`, `berth-ports/get-port`)
 * is imported, as get-port loads node:net at import: a burst of calls then does not
 * spend its first ~15 ms loading modules and reading the machine's ephemeral range (#8).
 */
import { machineEphemeralRange } from '../adapters/net/kernel.js';
import { loadNet } from '../adapters/net/probe.js';
import { preloadChosenRegistry } from '../adapters/registry/open.js';
import { loadSqlite } from '../adapters/registry/sqlite.js';

/**
 * Loads node:net and SQLite and reads the ephemeral range. Writes nothing and opens no
 * registry; a failed SQLite load is reported by the first call that opens the registry,
 * as E_REGISTRY.
 *
 * @example
 * preloadGetPort(); // at the top of a library entry
 */
export function preloadGetPort(): void {
  loadNet();
  machineEphemeralRange();
  try {
    loadSqlite();
  } catch {
    // see above
  }
  // An etcd registry's client, when BERTH_REGISTRY names one (nothing for SQLite).
  preloadChosenRegistry();
}
