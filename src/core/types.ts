/**
 * Data shared by the core, the adapters and the edges. Types describe data;
 * unions describe states. Nothing here does I/O.
 */

/** How a service ranks when two want the same port. */
export type Priority = 'high' | 'medium' | 'low';

/** What a service speaks; the first entry decides the URL scheme. */
export type Requirement = 'http' | 'https' | 'websocket' | 'wss' | 'tcp';

/** The conflict strategies, in the order help and errors list them: the one list the schema, the config and the CLI use. */
export const CONFLICT_STRATEGIES = ['minimal', 'aggressive', 'conservative', 'strict'] as const;

/** How the planner treats a wanted port that another lease of the same project holds (the config's `strategy`). */
export type ConflictStrategy = (typeof CONFLICT_STRATEGIES)[number];

/** The environment a config is resolved for when neither the caller nor `BERTH_ENV` names one. */
export const DEFAULT_ENVIRONMENT = 'development';

/** An inclusive port range. */
export interface PortRange {
  min: number;
  max: number;
}

/** Default milliseconds between health checks. */
export const HEALTH_INTERVAL_MS = 1000;

/** A health check a service declares (issue: health and diagnostics). */
export interface HealthSpec {
  type: 'tcp' | 'http';
  /** Path for http checks, starting with `/`. */
  path: string;
  /** Exact status expected; `null` means any status below 500. */
  expectStatus: number | null;
  /** How often `berth wait` and the daemon re-check, in milliseconds. */
  intervalMs: number;
  /** How long one check may take, in milliseconds. */
  timeoutMs: number;
}

/**
 * What one health check concludes: `healthy`; `unhealthy`, something listens
 * but fails the check (a 503, a timeout, a reset); or `not-running`, nothing
 * accepts connections on the port: the service is not started, which is a
 * state, not a failure.
 */
export type CheckStatus = 'healthy' | 'unhealthy' | 'not-running';

/**
 * A service's health as berth reports it: a check's {@link CheckStatus}, or
 * `unknown` when no check could vouch for it (checks off, a stale lease, a
 * foreign holder, not checked yet).
 */
export type HealthStatus = CheckStatus | 'unknown';

/** A `ready` check that runs a command: the service is ready when it exits 0. */
export interface CommandReadySpec {
  type: 'command';
  /** A shell line (run with the service's variables) or an argv (run directly, `{port}` replaced). */
  command: RunCommand;
  /** Milliseconds between two runs of the command. */
  intervalMs: number;
  /** How long one run may take before berth kills it, in milliseconds. */
  timeoutMs: number;
}

/** A `ready` check that waits for a line of the service's own output (stdout or stderr). */
export interface OutputReadySpec {
  type: 'output';
  /** A regular expression (JavaScript syntax), matched against each line with its colour codes removed. */
  pattern: string;
}

/**
 * How `berth up` tells a service is ready: a health check (`tcp`, `http`)
 * once its process tree binds the port, or a `command` or an `output` check,
 * either of which alone decides (a listener outside the tree, such as
 * docker's proxy, is then not a stranger).
 */
export type ReadySpec = HealthSpec | CommandReadySpec | OutputReadySpec;

/** One service after validation and normalisation: every field is present. */
export interface ServiceSpec {
  name: string;
  /** Ports to try in order after the sticky port. */
  preferred: readonly number[];
  /** Range to scan; `null` when the service inherits or declares only preferred ports. */
  range: PortRange | null;
  priority: Priority;
  requires: readonly Requirement[];
  /** Services this one competes with, symmetric (the normaliser adds the other direction). */
  conflicts: readonly string[];
  /** The service whose port this one shares, or `null`. */
  inheritFrom: string | null;
  /** Environment variable that carries the port, e.g. `SERVER_PORT`. */
  envVar: string;
  /** Whether ports below 1024 may be handed to this service. */
  allowPrivileged: boolean;
  /** Health check, derived from `requires` when not declared; `null` when disabled. */
  health: HealthSpec | null;
  /** What `berth up` runs for the service, and how. */
  run: RunSpec;
}

/** What `berth up` runs: a line for the platform's shell (as a Procfile line), or an argv run without a shell. */
export type RunCommand =
  | { kind: 'shell'; line: string }
  | { kind: 'exec'; argv: readonly [string, ...string[]] };

/** When `berth up` restarts a service that exited: never, after a non-zero exit, or after any exit. */
export type RestartPolicy = 'no' | 'on-failure' | 'always';

/** The signals a service may ask to be stopped with (`stopSignal`). */
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR1' | 'SIGUSR2' | 'SIGKILL';

/** How `berth up` runs a service; every field is present (defaults filled in). */
export interface RunSpec {
  /** `null`: the service is only leased (or served by the process of the service it inherits from). */
  command: RunCommand | null;
  /** Absolute working folder of the command (the config's folder by default). */
  cwd: string;
  /** Extra variables for the command; berth's own (PORT, `<NAME>_PORT`, `<NAME>_URL`) are not among them. */
  env: Readonly<Record<string, string>>;
  /** Services that must be ready before this one starts, as declared (`inheritFrom` adds its target). */
  dependsOn: readonly string[];
  /** The check that says the service is ready: `ready`, else `health` (once its process tree binds the port); `null` for none. */
  ready: ReadySpec | null;
  /**
   * What berth adds to the command so the tool listens on berth's port: `true`
   * the table's entry for a tool berth knows, `false` nothing, a list those
   * words instead (`{port}` replaced).
   */
  portArgs: boolean | readonly string[];
  restart: RestartPolicy;
  /** Restarts allowed (not starts); `null` for no limit. */
  maxRestarts: number | null;
  stopSignal: StopSignal;
  /** Milliseconds between the stop signal and SIGKILL. */
  stopTimeoutMs: number;
}

/** A whole project configuration after validation, for one environment. */
export interface ResolvedConfig {
  /** Project name (config `project`, or the config folder's name). */
  project: string;
  /** Absolute folder of the config file: two checkouts of a project are two projects. */
  dir: string;
  /** Absolute path of the config file, or `null` for a config given in code. */
  file: string | null;
  environment: string;
  strategy: ConflictStrategy;
  healthCheckTimeout: number;
  maxRetries: number;
  enableHealthChecks: boolean;
  autoReassign: boolean;
  /** Ports never handed out for this project. */
  exclude: readonly number[];
  /** Services in declaration order. */
  services: readonly ServiceSpec[];
  /** The config's `registry` URL (`etcd://...`), or `null`/absent for the default; `$BERTH_REGISTRY` wins over it. */
  registry?: string | null;
  /** What `<NAME>_URL` carries: `ports` (the default) or `named` (through the daemon's proxy, when it can). */
  urls?: 'ports' | 'named';
}

/** Who owns a lease: the process and its start time, so a reused pid is not mistaken for the owner. */
export interface LeaseOwner {
  pid: number;
  /** Opaque start-time token of the process (`/proc/<pid>/stat` field 22 on Linux), or `null` when unknown. */
  startTime: string | null;
}

/** A row of the registry's lease table. */
export interface Lease {
  id: number;
  port: number;
  /** `service` for a configured service, `adhoc` for a `getPort()` lease. */
  kind: 'service' | 'adhoc';
  project: string;
  dir: string;
  environment: string;
  /** Service name; for ad-hoc leases a label such as `getPort`. */
  service: string;
  /** For an inheriting service (websocket): the service whose port it shares. */
  inheritsFrom: string | null;
  /** URL scheme of the service (`http`, `ws`, `tcp`, ...) so readers without the config can build URLs; `null` for ad-hoc leases. */
  scheme: string | null;
  /** `null` for leases that live until released or expired (`berth assign`). */
  owner: LeaseOwner | null;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds, or `null` for no expiry. */
  expiresAt: number | null;
}

/** The live state of a lease, as `berth ls` shows it. */
export type LeaseState =
  | { state: 'reserved' }
  | { state: 'bound' }
  | { state: 'stale'; reason: 'owner-dead' | 'expired' };

/** How a service got its port. */
export type PortSource = 'inherited' | 'sticky' | 'preferred' | 'range_scan' | 'emergency';

/** One planned port for a service. */
export interface Assignment {
  service: string;
  port: number;
  strategy: PortSource;
  /** For inherited assignments: the service whose port is shared. */
  inheritsFrom: string | null;
}

/** A lease of the same project that the plan moves to another port. */
export interface Move {
  service: string;
  from: number;
  to: number;
}

/** Why the planner did what it did: shown to the user, one line each. */
export interface Decision {
  service: string;
  port: number;
  strategy: PortSource;
  /** Set when the service moved off a port it held. */
  from: number | null;
  /** Ports passed over, each with why, in the order tried. */
  skipped: readonly { port: number; reason: string }[];
  /** The human line: `server assigned port 3000 (preferred)`. */
  message: string;
}

/** What the planner returns: new assignments, moves of existing leases, and the decisions that explain them. */
export interface Plan {
  assignments: readonly Assignment[];
  moves: readonly Move[];
  decisions: readonly Decision[];
}
