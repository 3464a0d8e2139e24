/**
 * berth's HTTP layer: the daemon behind `berth serve` and the handler users
 * mount in their own servers.
 *
 * @example
 * import { createPortsHandler } from 'berth-ports';
 * http.createServer(createPortsHandler(pm)).listen(port);
 */
export type { AppOptions, DaemonApp } from './app.js';
export { createApp } from './app.js';
export type { Daemon, DaemonOptions } from './daemon.js';
export { checkExposure, DEFAULT_DAEMON_PORT, isLoopbackHost, startDaemon } from './daemon.js';
export type { DaemonInfo } from './daemon-file.js';
export { findRunningDaemon, readDaemonFile } from './daemon-file.js';
export type { HttpErrorCode } from './errors.js';
export { HttpError, statusFor } from './errors.js';
export type { HttpApp, HttpRequest, HttpResponse, StreamBody, StreamSink } from './message.js';
export { createNodeListener } from './node-adapter.js';
export type { PortsHandler, PortsHandlerOptions } from './ports-handler.js';
export { createPortsHandler } from './ports-handler.js';
