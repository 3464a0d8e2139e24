/**
 * A process made of plain data, as the fake machine's spawner starts it: the
 * test drives it (prints, binds a port, exits) and it answers signals as a
 * well-behaved service does, unless told to ignore them. Like concurrently's
 * fake command, it lets each unit of the stack runner be tested alone.
 */
import type { ProcessExit, SpawnedProcess, SpawnRequest } from '../../src/core/facts.js';
import type { Scope } from '../../src/core/registry.js';
import type { RunStore, ServiceRun } from '../../src/core/runs.js';
import type { LeaseOwner } from '../../src/core/types.js';

type Output = (stream: 'stdout' | 'stderr', text: string) => void;

/** A spawned fake process. */
export class FakeChild implements SpawnedProcess {
  readonly pgid: number;
  readonly startTime: string;
  readonly exited: Promise<ProcessExit>;
  /** Signals it received, in order. */
  readonly signals: string[] = [];
  /** Ignore every signal but SIGKILL (a service that does not stop in time). */
  stubborn = false;
  /**
   * Something of its group still runs after it exits (a child it started,
   * as vite under npm), until a signal to the group ends it (SIGKILL only, when stubborn).
   */
  leftInGroup = false;
  private listener: Output | null = null;
  private resolveExit!: (exit: ProcessExit) => void;
  private ended: ProcessExit | null = null;

  constructor(
    readonly pid: number,
    readonly request: SpawnRequest,
    private readonly onEnd: (child: FakeChild) => void,
  ) {
    this.pgid = pid;
    this.startTime = `t${pid}`;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  /** Whether it still runs. */
  get running(): boolean {
    return this.ended === null;
  }

  /** The variables it was started with. */
  get env(): Readonly<Record<string, string>> {
    return this.request.env;
  }

  onOutput(fn: Output): void {
    this.listener = fn;
  }

  /** Writes to its stdout or stderr, as the real pipe would deliver it (possibly mid-line). */
  print(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this.listener?.(stream, text);
  }

  /** Exits; a second exit is ignored. */
  exit(code: number | null, signal: string | null = null): void {
    if (this.ended) return;
    this.ended = { code, signal };
    this.onEnd(this);
    this.resolveExit(this.ended);
  }

  /** A signal to its group: it dies of it, unless stubborn (SIGKILL always works). */
  receive(signal: string): void {
    this.signals.push(signal);
    if (signal !== 'SIGKILL' && this.stubborn) return;
    this.leftInGroup = false;
    this.exit(null, signal);
  }

  /** Whether anything of its process group still runs. */
  get groupAlive(): boolean {
    return this.running || this.leftInGroup;
  }
}

/** The run store in memory, keyed as the SQLite one. */
export class MemoryRunStore implements RunStore {
  readonly rows = new Map<string, ServiceRun>();
  /** Every row written, in order (to assert on transitions). */
  readonly writes: ServiceRun[] = [];

  private key(r: { dir: string; environment: string; service: string }): string {
    return `${r.dir}\0${r.environment}\0${r.service}`;
  }

  scopeRuns(scope: Scope): ServiceRun[] {
    return [...this.rows.values()].filter((r) => r.dir === scope.dir && r.environment === scope.environment);
  }

  allRuns(): ServiceRun[] {
    return [...this.rows.values()];
  }

  put(run: ServiceRun): void {
    this.rows.set(this.key(run), run);
    this.writes.push(run);
  }

  clear(scope: Scope, runner?: LeaseOwner): void {
    for (const run of this.scopeRuns(scope)) {
      if (
        runner === undefined ||
        (run.runner.pid === runner.pid && run.runner.startTime === runner.startTime)
      ) {
        this.rows.delete(this.key(run));
      }
    }
  }

  close(): void {}
}
