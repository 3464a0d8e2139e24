/**
 * Service health checks: a TCP connect or an HTTP GET on 127.0.0.1 and ::1.
 */
export type { AttemptTarget, HttpExpectation } from './attempts.js';
export { httpAttempt, tcpAttempt } from './attempts.js';
export type { CheckHealthOptions } from './check.js';
export { checkHealth, HEALTH_HOSTS } from './check.js';
export type { Attempt, AttemptKind, HealthResult } from './verdict.js';
export { verdict } from './verdict.js';
