/**
 * berth's library API. Named exports only; the CLI is its own `bin` entry.
 *
 * @example
 * import { createPortManager, getPort } from 'berth';
 * const pm = await createPortManager();
 * const { services } = await pm.assignAll();
 * const port = await getPort({ port: [3000, 3001], range: [3000, 3999] });
 */

import { machineEphemeralRange } from './adapters/net/kernel.js';
import { loadNet } from './adapters/net/probe.js';
import { loadSqlite } from './adapters/registry/sqlite.js';

// What every getPort() needs is loaded with the library, as get-port loads node:net at
// import: a burst of calls then does not spend its first ~15 ms loading modules and reading
// the machine's ephemeral range (#8). A failed load is reported by the first call that
// opens the registry, as E_REGISTRY. Nothing is written and no registry is opened here.
loadNet();
machineEphemeralRange();
try {
  loadSqlite();
} catch {
  // see above
}

export type { AdapterOptions, Adapters } from './compose/context.js';
export type { GetPortOptions } from './compose/get-port.js';
export { getPort, releasePort } from './compose/get-port.js';
export type {
  AssignOptions,
  AssignResult,
  LeaseView,
  PortManager,
  PortManagerOptions,
  ServicePort,
} from './compose/manager.js';
export { createPortManager } from './compose/manager.js';
export type { UserConfig, UserServiceConfig } from './config/define.js';
export { defineConfig } from './config/define.js';
export type { PortsData } from './core/endpoints.js';
export type {
  AssignStrategy,
  Decision,
  Lease,
  LeaseOwner,
  LeaseState,
  Priority,
  Requirement,
  ResolvedConfig,
  ServiceSpec,
  Strategy,
} from './core/types.js';
export type { BerthErrorCode } from './errors.js';
export { BerthError, isBerthError } from './errors.js';
export type { PortsHandler, PortsHandlerOptions } from './http/index.js';
export { createPortsHandler } from './http/index.js';
