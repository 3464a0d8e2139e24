/**
 * A machine made of plain data, for testing src/compose/ without real
 * processes, sockets or /proc: every adapter but the registry is a fake over
 * this state (the registry is a real SQLite file in a temp folder).
 */

import type { Adapters } from '../../src/compose/context.js';
import type {
  HealthCheckResult,
  HiddenListener,
  KernelFacts,
  Listener,
  PortHolder,
  ProcessTable,
  StopOptions,
  StopOutcome,
} from '../../src/core/facts.js';
import type { HealthSpec, LeaseOwner } from '../../src/core/types.js';
import { BerthError } from '../../src/errors.js';
import { FakeWorktrees, MemoryCheckoutStore } from './fake-checkouts.js';
import { FakeChild, MemoryRunStore } from './fake-child.js';

/** The pid the fake machine gives the current process. */
export const SELF_PID = 4000;

/** A process of the fake machine: its pid, command and parent. */
export interface FakeProcess {
  pid: number;
  command: string;
  /** Default 1. */
  ppid?: number;
}

/** The fake machine's state; tests change it between calls. */
export class FakeMachine {
  /** Live processes by pid. */
  readonly processes = new Map<number, FakeProcess>([[SELF_PID, { pid: SELF_PID, command: 'vitest' }]]);
  /** Listening sockets, and who holds each port. */
  readonly listening = new Map<number, FakeProcess>();
  /** Listening sockets whose process the holder finder cannot see (another user's, another pid namespace). */
  readonly hidden = new Map<number, HiddenListener[]>();
  /** The uid berth runs as (1000 is ada; 0 is root). */
  uid: number | null = 1000;
  /** Ports whose next bind probes say busy, with how many more times. */
  readonly busyOnBind = new Map<number, number>();
  /** Every port the bind probe was asked about, in order. */
  readonly probed: number[] = [];
  /** Health results by port; `not-running` when none is set. */
  readonly health = new Map<number, HealthCheckResult>();
  /** Every stop asked for, in order. */
  readonly stopped: number[] = [];
  /** Pids the stopper refuses to signal (another user's, say). */
  readonly refused = new Set<number>();
  /** Epoch milliseconds. */
  clock = 1_700_000_000_000;
  /** Commands the fake spawner started, in order; tests drive them. */
  readonly children: FakeChild[] = [];
  /** The run store `berth up` writes to. */
  readonly runs = new MemoryRunStore();
  /** The checkouts registered for names, and what each folder is. */
  readonly checkouts = new MemoryCheckoutStore();
  readonly worktrees = new FakeWorktrees();
  /** Signals sent to process groups, in order, as `pgid:SIGNAL`. */
  readonly groupSignals: string[] = [];
  private nextPid = 5000;

  /** Starts a live process. */
  spawn(process: FakeProcess): FakeProcess {
    this.processes.set(process.pid, process);
    return process;
  }

  /** The lease owner for a live process (its start time is derived from its pid). */
  owner(pid: number): LeaseOwner {
    return { pid, startTime: `t${pid}` };
  }

  /** `process` listens on `port` (it is started if it is not running). */
  listen(port: number, process: FakeProcess): void {
    this.spawn(process);
    this.listening.set(port, process);
  }

  /** The process started `nth` (0-based) with this command line (an argv joined by spaces): a test's handle on it. */
  child(name: string, nth = 0): FakeChild {
    const found = this.children.filter((c) => {
      const cmd = c.request.command;
      return (cmd.kind === 'shell' ? cmd.line : cmd.argv.join(' ')) === name;
    })[nth];
    if (!found)
      throw new Error(
        `no child ${name} #${nth}; started: ${this.children.map((c) => JSON.stringify(c.request.command)).join(', ')}`,
      );
    return found;
  }

  /** The child binds `port`, as the stack's process tree. */
  bind(child: FakeChild, port: number): void {
    this.listen(port, { pid: child.pid, command: 'service', ppid: SELF_PID });
  }

  /** The adapters over this state: all but the registry. */
  adapters(): Omit<Adapters, 'registry'> {
    return {
      kernel: this.kernel(),
      probe: {
        check: async (port) => {
          this.probed.push(port);
          const left = this.busyOnBind.get(port) ?? 0;
          if (left > 0) {
            this.busyOnBind.set(port, left - 1);
            return 'busy';
          }
          return this.listening.has(port) ? 'busy' : 'free';
        },
      },
      processes: this.processTable(),
      freshListeners: { read: async () => this.listeners() },
      holders: {
        find: async (port) => {
          const holder = this.listening.get(port);
          return {
            port,
            holders: holder ? [this.holder(holder)] : [],
            hidden: [...(this.hidden.get(port) ?? [])],
          };
        },
      },
      tree: {
        parentOf: (pid) => this.parentOf(pid),
        below: (root) => [...this.processes.keys()].filter((pid) => pid !== root && this.descends(pid, root)),
      },
      treeSockets: {
        listening: async (root) =>
          [...this.listening]
            .filter(([, p]) => this.descends(p.pid, root))
            .map(([port, p]) => ({ pid: p.pid, command: p.command, port, address: '127.0.0.1' })),
      },
      stopper: { stop: (pid, options) => this.stop(pid, options) },
      health: {
        check: async (_spec: HealthSpec, port: number) =>
          this.health.get(port) ?? { status: 'not-running', reason: 'connection refused', latencyMs: 0 },
      },
      users: {
        nameOf: (uid) => (uid === 1000 ? 'ada' : uid === 0 ? 'root' : String(uid)),
        selfUid: () => this.uid,
      },
      spawner: {
        spawn: async (request) => {
          const pid = this.nextPid++;
          const child = new FakeChild(pid, request, (c) => this.end(c));
          this.spawn({ pid, command: 'service', ppid: SELF_PID });
          this.children.push(child);
          return child;
        },
      },
      groups: {
        alive: (group) => this.children.some((c) => c.pgid === group.pgid && c.groupAlive),
        signal: (group, signal) => {
          const child = this.children.find((c) => c.pgid === group.pgid && c.groupAlive);
          if (!child) return 'gone';
          this.groupSignals.push(`${group.pgid}:${signal}`);
          child.receive(signal);
          return 'sent';
        },
      },
      runs: this.runs,
      checkouts: this.checkouts,
      worktrees: this.worktrees,
      now: () => this.clock,
      log: () => {},
    };
  }

  private parentOf(pid: number): number | null {
    return this.processes.has(pid) ? (this.processes.get(pid)!.ppid ?? 1) : null;
  }

  /** Whether `pid` is `root` or below it. */
  private descends(pid: number, root: number): boolean {
    for (let p: number | null = pid; p !== null && p > 1; p = this.parentOf(p)) if (p === root) return true;
    return false;
  }

  /** A child exited: its process and its sockets go. */
  private end(child: FakeChild): void {
    this.processes.delete(child.pid);
    for (const [port, p] of this.listening) if (p.pid === child.pid) this.listening.delete(port);
  }

  private listeners(): Listener[] {
    return [...this.listening.keys()].map((port) => ({ address: '127.0.0.1', port, inode: port, uid: 1000 }));
  }

  private holder(p: FakeProcess): PortHolder {
    return { pid: p.pid, user: 'ada', uid: 1000, command: p.command, startedAt: null, address: '127.0.0.1' };
  }

  private kernel(): KernelFacts {
    return {
      listeners: () => this.listeners(),
      listeningPorts: () => new Set(this.listening.keys()),
      refresh: async () => {},
      ephemeralRange: () => null,
      excludedRanges: () => [],
    };
  }

  private processTable(): ProcessTable {
    return {
      self: () => this.owner(SELF_PID),
      owner: (pid) => (this.processes.has(pid) ? this.owner(pid) : null),
      isAlive: (o) => this.processes.has(o.pid) && o.startTime === `t${o.pid}`,
      exists: (pid) => this.processes.has(pid),
    };
  }

  /** A process that listens stops on SIGTERM, its sockets with it. */
  private async stop(pid: number, options: StopOptions): Promise<StopOutcome> {
    if (this.refused.has(pid)) {
      throw new BerthError('E_REFUSED', `pid ${pid} belongs to another user. Ask its owner.`, {
        data: { pid },
      });
    }
    if (!(await options.stillOwnsPort())) return 'gone';
    this.stopped.push(pid);
    this.processes.delete(pid);
    for (const [port, p] of this.listening) if (p.pid === pid) this.listening.delete(port);
    return 'stopped';
  }
}
