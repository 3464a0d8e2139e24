/**
 * berth's library API. Named exports only; the CLI is its own `bin` entry.
 *
 * @example
 * import { createPortManager, getPort } from 'berth-ports';
 * const pm = await createPortManager();
 * const { services } = await pm.assignAll();
 * const port = await getPort({ port: [3000, 3001], range: [3000, 3999] });
 */

import { preloadGetPort } from './compose/preload.js';

// What every getPort() needs is loaded with the library (see src/compose/preload.ts).
preloadGetPort();

export type { AdapterOptions, Adapters } from './compose/context.js';
export type { GetPortOptions } from './compose/get-port.js';
export { getPort, releasePort } from './compose/get-port.js';
export type { LeaseView } from './compose/lease-views.js';
export type {
  AssignOptions,
  AssignResult,
  PortManager,
  PortManagerOptions,
  ServicePort,
} from './compose/manager.js';
export { createPortManager } from './compose/manager.js';
export type { UserConfig, UserServiceConfig } from './config/define.js';
export { defineConfig } from './config/define.js';
export type { PortsData } from './core/endpoints.js';
export type {
  ConflictStrategy,
  Decision,
  Lease,
  LeaseOwner,
  LeaseState,
  PortSource,
  Priority,
  Requirement,
  ResolvedConfig,
  ServiceSpec,
} from './core/types.js';
/** @deprecated Renamed {@link ConflictStrategy} (one name per idea); kept so existing imports compile. */
export type Strategy = import('./core/types.js').ConflictStrategy;
/** @deprecated Renamed {@link PortSource}: how a service got its port. Kept so existing imports compile. */
export type AssignStrategy = import('./core/types.js').PortSource;
export type { BerthErrorCode } from './errors.js';
export { BerthError, isBerthError } from './errors.js';
export type { PortsHandler, PortsHandlerOptions } from './http/index.js';
export { createPortsHandler } from './http/index.js';
