/**
 * The run store in the registry file (`runs`, migration 7): what `berth up`
 * runs, readable by `berth down`, `berth check` and the daemon. It opens its
 * own connection, on first use: run rows change a handful of times per service
 * start, so each write is one autocommitted statement, without the lock queue
 * and group commit that allocations need. Rows are validated on read.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Scope } from '../../core/registry.js';
import type { RunStore, ServiceRun } from '../../core/runs.js';
import { type RunPhase, STOP_SIGNALS } from '../../core/stack.js';
import type { LeaseOwner, StopSignal } from '../../core/types.js';
import { openSideConnection } from './side-db.js';

const PHASES: ReadonlySet<string> = new Set<RunPhase>([
  'pending',
  'starting',
  'ready',
  'restarting',
  'exited',
  'stopping',
  'stopped',
]);

const COLUMNS =
  'dir, environment, service, project, unit, phase, pid, pgid, pid_start, restarts, exit_code, runner_pid, runner_start, stop_signal, stop_timeout, updated_at';

/** A `runs` row as SQLite returns it: not trusted. */
export interface RunRow {
  dir: unknown;
  environment: unknown;
  service: unknown;
  project: unknown;
  unit: unknown;
  phase: unknown;
  pid: unknown;
  pgid: unknown;
  pid_start: unknown;
  restarts: unknown;
  exit_code: unknown;
  runner_pid: unknown;
  runner_start: unknown;
  stop_signal: unknown;
  stop_timeout: unknown;
  updated_at: unknown;
}

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isPid = (v: unknown): v is number => isInt(v) && v > 0;
const isStartToken = (v: unknown): v is string | null => v === null || isStr(v);

/** The run a row describes, or `null` when the row is malformed. */
export function rowToRun(row: RunRow): ServiceRun | null {
  const strings = [row.dir, row.environment, row.service, row.project, row.unit];
  if (!strings.every(isStr) || !isStr(row.phase) || !PHASES.has(row.phase)) return null;
  if (!isInt(row.restarts) || row.restarts < 0 || !isInt(row.updated_at)) return null;
  if (row.exit_code !== null && !isInt(row.exit_code)) return null;
  if (!isPid(row.runner_pid) || !isStartToken(row.runner_start)) return null;
  if (!STOP_SIGNALS.includes(row.stop_signal as StopSignal) || !isInt(row.stop_timeout)) return null;
  let group: ServiceRun['group'] = null;
  if (row.pid !== null) {
    if (!isPid(row.pid) || (row.pgid !== null && !isPid(row.pgid)) || !isStartToken(row.pid_start))
      return null;
    group = { pid: row.pid, pgid: row.pgid, startTime: row.pid_start };
  }
  return {
    project: row.project as string,
    dir: row.dir as string,
    environment: row.environment as string,
    service: row.service as string,
    unit: row.unit as string,
    phase: row.phase as RunPhase,
    group,
    restarts: row.restarts,
    exitCode: row.exit_code,
    runner: { pid: row.runner_pid, startTime: row.runner_start },
    stopSignal: row.stop_signal as StopSignal,
    stopTimeoutMs: row.stop_timeout,
    updatedAt: row.updated_at,
  };
}

class SqliteRunStore implements RunStore {
  private readonly stmt;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.stmt = {
      scope: db.prepare(`SELECT ${COLUMNS} FROM runs WHERE dir = ? AND environment = ? ORDER BY service`),
      all: db.prepare(`SELECT ${COLUMNS} FROM runs ORDER BY dir, environment, service`),
      put: db.prepare(
        `INSERT OR REPLACE INTO runs (${COLUMNS}) VALUES (@dir, @environment, @service, @project, @unit, @phase, @pid, @pgid, @pidStart, @restarts, @exitCode, @runnerPid, @runnerStart, @stopSignal, @stopTimeout, @updatedAt)`,
      ),
      clear: db.prepare('DELETE FROM runs WHERE dir = ? AND environment = ?'),
      clearRunner: db.prepare(
        "DELETE FROM runs WHERE dir = ? AND environment = ? AND runner_pid = ? AND COALESCE(runner_start, '') = ?",
      ),
    };
  }

  scopeRuns(scope: Scope): ServiceRun[] {
    return this.valid(this.stmt.scope.all(scope.dir, scope.environment) as RunRow[]);
  }

  allRuns(): ServiceRun[] {
    return this.valid(this.stmt.all.all() as RunRow[]);
  }

  put(run: ServiceRun): void {
    this.stmt.put.run({
      dir: run.dir,
      environment: run.environment,
      service: run.service,
      project: run.project,
      unit: run.unit,
      phase: run.phase,
      pid: run.group?.pid ?? null,
      pgid: run.group?.pgid ?? null,
      pidStart: run.group?.startTime ?? null,
      restarts: run.restarts,
      exitCode: run.exitCode,
      runnerPid: run.runner.pid,
      runnerStart: run.runner.startTime,
      stopSignal: run.stopSignal,
      stopTimeout: run.stopTimeoutMs,
      updatedAt: run.updatedAt,
    });
  }

  clear(scope: Scope, runner?: LeaseOwner): void {
    if (runner === undefined) this.stmt.clear.run(scope.dir, scope.environment);
    else this.stmt.clearRunner.run(scope.dir, scope.environment, runner.pid, runner.startTime ?? '');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private valid(rows: readonly RunRow[]): ServiceRun[] {
    return rows.flatMap((row) => rowToRun(row) ?? []);
  }
}

/**
 * Opens the run store in `home` (the registry file, created and migrated as needed).
 *
 * @example
 * const runs = openRunStore({ home: berthHome() });
 * runs.scopeRuns({ dir: '/work/shop', environment: 'development' });
 */
export function openRunStore(options: { home: string; notice?: (line: string) => void }): RunStore {
  return new SqliteRunStore(openSideConnection(options));
}
