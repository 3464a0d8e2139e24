/**
 * Interfaces of the adapters that supply facts about the machine. The core
 * depends on these shapes only; src/adapters/ implements them with sockets,
 * /proc and child processes.
 */
import type { LeaseOwner, PortRange } from './types.js';

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
