/**
 * Interfaces of the adapters that supply facts about the machine. The core
 * depends on these shapes only; src/adapters/ implements them with sockets,
 * /proc and child processes, and src/compose/context.ts wires them into one
 * `Adapters` object, so everything above the adapters can run on fakes.
 */
import type { CheckStatus, HealthSpec, LeaseOwner, PortRange, RunCommand, StopSignal } from './types.js';

/** One listening TCP socket as the kernel reports it. */
export interface Listener {
  /** Textual address: `0.0.0.0`, `127.0.0.1`, `::`, `::1`, `::ffff:127.0.0.1`, a LAN address. */
  address: string;
  port: number;
  /** Socket inode (Linux), used to find the owning process; 0 when unknown. */
  inode: number;
  /** Owner uid of the socket, or -1 when unknown. */
  uid: number;
}

/** What the kernel knows about listening sockets, read in one go. */
export interface KernelFacts {
  /** Every listening socket, or `null` where the platform gives no cheap table (then probes decide). */
  listeners(): readonly Listener[] | null;
  /** Ports with at least one listener (derived from `listeners()`, cached per call site). */
  listeningPorts(): ReadonlySet<number> | null;
  /**
   * Makes the next `listeners()` cheap without blocking the event loop: resolves
   * at once while the last read is usable (starting a background read when it is
   * getting old), otherwise after a read off the main thread. Never rejects.
   */
  refresh(): Promise<void>;
  /** The live ephemeral range, or `null` when unknown. */
  ephemeralRange(): PortRange | null;
  /** OS-level excluded ranges (Windows' excludedportrange); empty elsewhere. */
  excludedRanges(): readonly PortRange[];
}

/** Outcome of a bind probe. */
export type ProbeResult = 'free' | 'busy';

/** Confirms one port with a real bind. */
export interface Probe {
  /**
   * Binds the port (exclusively, on the addresses that matter) and releases it.
   * `busy` only for EADDRINUSE/EACCES; any other error rejects with `E_PROBE`,
   * a timeout rejects with `E_TIMEOUT`.
   */
  check(port: number, timeoutMs?: number): Promise<ProbeResult>;
  /**
   * {@link check} with the default timeout, answered at once when the bind answers at
   * once (a free port, with one bind on Linux), as a promise otherwise. Absent: use check.
   */
  checkNow?(port: number): ProbeResult | Promise<ProbeResult>;
}

/** The process table: who owns a lease and whether it still lives. */
export interface ProcessTable {
  /** The current process as a lease owner. */
  self(): LeaseOwner;
  /** The process with `pid` as a lease owner (its start time read now), or `null` if it does not exist. */
  owner(pid: number): LeaseOwner | null;
  /**
   * True while the process lives and is the same process (same start time).
   * A process of another user counts as alive.
   */
  isAlive(owner: LeaseOwner): boolean;
  /**
   * True while some process has `pid` (`kill(pid, 0)`): far cheaper than
   * {@link isAlive}, but also true for a zombie or a process that reused the pid.
   */
  exists(pid: number): boolean;
}

/**
 * A fresh read of the kernel's listening sockets, off the main thread and
 * never cached: for answers that must be current (`berth check` right after a
 * server started, `berth free` waiting for a socket to close, a squatter that
 * arrived a moment ago). {@link KernelFacts} is the cached, cheap one.
 */
export interface FreshListeners {
  /** Every listening socket, or `null` where the platform gives no cheap table (then holders come from lsof / netstat). */
  read(): Promise<readonly Listener[] | null>;
}

/** One process listening on a port, on one address. */
export interface PortHolder {
  pid: number;
  /** Login name (or numeric uid as text), `null` when the source does not say. */
  user: string | null;
  uid: number | null;
  /** Command line (Linux) or command name (lsof, macOS netstat); `null` when unknown (Windows netstat). */
  command: string | null;
  /** Epoch milliseconds, `null` when unknown. */
  startedAt: number | null;
  /** Listening address: `0.0.0.0`, `::`, `127.0.0.1`, `::1`, ...; `*` from lsof / macOS netstat for every address. */
  address: string;
}

/** A listening socket on the port whose process berth cannot see. */
export interface HiddenListener {
  address: string;
  /** Owner uid of the socket as the kernel reports it, `null` when unknown. */
  uid: number | null;
  /**
   * `other-user`: the socket belongs to another uid, or some process's fds were
   * closed to us. `unknown`: no visible process holds it (another pid namespace,
   * or the holder exited during the scan).
   */
  reason: 'other-user' | 'unknown';
}

/** Everything known about who listens on a port. Nothing listens when both lists are empty. */
export interface PortHolders {
  port: number;
  holders: PortHolder[];
  hidden: HiddenListener[];
}

/** From a port to the processes that listen on it. */
export interface HolderFinder {
  /**
   * Who listens on `port`, given the listening sockets (from {@link FreshListeners}
   * or `KernelFacts.listeners()`; `null` falls back to lsof / netstat). A socket
   * whose process cannot be seen is in `hidden`, never dropped.
   */
  find(port: number, listeners: readonly Listener[] | null): Promise<PortHolders>;
}

/** The process tree: whether a listener is a lease owner's descendant (`npm start` -> sh -> node). */
export interface ProcessTree {
  /** The parent pid, or `null` when unknown (the process is gone, or no /proc). */
  parentOf(pid: number): number | null;
  /**
   * Every process below `root` (children, grandchildren, ...; not `root`), from
   * one scan of the process table; empty where the platform cannot tell. Optional
   * for a tree of your own: without it, `berth run` cannot stop what a command left.
   */
  below?(root: number): number[];
}

/** A process of a tree that listens on a port. */
export interface TreeListener {
  pid: number;
  /** Its command line, `null` when unknown. */
  command: string | null;
  port: number;
  /** Listening address: `0.0.0.0`, `::`, `127.0.0.1`, ... */
  address: string;
}

/** The listening sockets of a process tree: which ports a service's own processes listen on. */
export interface TreeSockets {
  /**
   * Every TCP port `root` or one of its descendants listens on, or `null` where
   * the platform cannot tell (berth reads this from Linux's /proc).
   */
  listening(root: number): Promise<TreeListener[] | null>;
}

/** What stopping a process did: exited after SIGTERM, exited after SIGKILL, still running, or no longer holding the port. */
export type StopOutcome = 'stopped' | 'killed' | 'survived' | 'gone';

/** Options of {@link ProcessStopper.stop}. */
export interface StopOptions {
  /** Send SIGKILL when SIGTERM did not end the process within `graceMs`. */
  force: boolean;
  /** How long to wait after SIGTERM, in milliseconds. */
  graceMs: number;
  /** Asked right before signalling: does the pid still own the port? `false` means someone else's process may now sit on that pid. */
  stillOwnsPort: () => boolean | Promise<boolean>;
  /**
   * The target's uid when the caller already knows it (lsof's `u` off Linux);
   * by default the stopper reads it.
   */
  uid?: number | null;
}

/** Signals a process that holds a port (`berth free`). */
export interface ProcessStopper {
  /**
   * Stops `pid`: SIGTERM, a wait of `graceMs`, then SIGKILL with `force`.
   * Refuses (rejects with `E_REFUSED`) pid 1, berth itself, its parent and
   * other users' processes.
   */
  stop(pid: number, options: StopOptions): Promise<StopOutcome>;
}

/** What one health check found. */
export interface HealthCheckResult {
  /** `not-running` when nothing accepts connections: the service is not started. */
  status: CheckStatus;
  /** Why it is not healthy; `null` when healthy. */
  reason: string | null;
  /** Milliseconds the deciding attempt took. */
  latencyMs: number;
}

/** Options of {@link HealthChecker.check}. */
export interface HealthCheckOptions {
  /** Caps the spec's `timeoutMs` (e.g. `berth wait`'s remaining time). */
  maxTimeoutMs?: number;
}

/** Runs a service's health check (`health` in the config) against a port. */
export interface HealthChecker {
  /** Never rejects: a failure is an `unhealthy` or `not-running` result. */
  check(spec: HealthSpec, port: number, options?: HealthCheckOptions): Promise<HealthCheckResult>;
}

/** Login names, for showing who owns a process or socket. */
export interface UserNames {
  /** The login name of `uid`, or the uid as text when no name is known. */
  nameOf(uid: number): string;
  /** The uid berth runs as (0: root), or `null` where there are no uids (Windows). */
  selfUid(): number | null;
}

/** How a spawned process ended: its exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

/** What to start (`berth up`). */
export interface SpawnRequest {
  command: RunCommand;
  /** Absolute folder to run it in. */
  cwd: string;
  /** The process's whole environment (berth's own is not added). */
  env: Readonly<Record<string, string>>;
}

/** A process berth started, leading a process group of its own (POSIX). */
export interface SpawnedProcess {
  readonly pid: number;
  /** Its process group: its own pid on POSIX, `null` where there are no groups (Windows: its tree instead). */
  readonly pgid: number | null;
  /** Start-time token, as in {@link LeaseOwner}; `null` when unknown. */
  readonly startTime: string | null;
  /** Output as it arrives, UTF-8 decoded; a chunk may end mid-line. Call once, right after spawning. */
  onOutput(listener: (stream: 'stdout' | 'stderr', text: string) => void): void;
  /** Resolves when the process has exited (and, briefly waited for, its output has drained). */
  readonly exited: Promise<ProcessExit>;
}

/** Starts the commands of a stack. */
export interface Spawner {
  /**
   * Starts `request` in a new process group, stdin closed, stdout and stderr
   * piped. Rejects with `E_NOT_FOUND` when it cannot start at all (no such
   * folder or program); a shell line whose program is missing starts, and exits 127.
   */
  spawn(request: SpawnRequest): Promise<SpawnedProcess>;
}

/** A process group berth started, as recorded: its leader and the leader's start time, so a reused pid is never signalled. */
export interface ProcessGroupRef {
  pid: number;
  /** `null` where there are no process groups (Windows): the leader's tree stands for the group. */
  pgid: number | null;
  startTime: string | null;
}

/** Signals whole process groups (`npm run dev` -> node -> vite), never only the leader. */
export interface ProcessGroups {
  /**
   * Sends `signal` to every process of the group (Windows: `taskkill /T` on the
   * leader's tree, `/F` for SIGKILL). `gone` when nothing of the group is left.
   * Rejects with `E_REFUSED` when the system forbids it.
   */
  signal(group: ProcessGroupRef, signal: StopSignal): 'sent' | 'gone';
  /** Whether any process of the group still lives; false once its leader's pid belongs to another process. */
  alive(group: ProcessGroupRef): boolean;
}
