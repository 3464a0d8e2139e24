/**
 * Windows has no process groups and no signals: a service's tree is stopped
 * with `taskkill /PID <pid> /T` (which asks each process to close), then
 * `/T /F` (which ends them) after the stop timeout. These are the pure halves:
 * the arguments, and the reading of taskkill's answer, tested apart from the
 * call (golden lines from Windows 10 and 11, English locale).
 */

/**
 * taskkill's arguments for the tree under `pid`: `/F` only for SIGKILL.
 *
 * @example
 * taskkillArgs(4242, false) // ['/PID', '4242', '/T']
 */
export function taskkillArgs(pid: number, force: boolean): string[] {
  return ['/PID', String(pid), '/T', ...(force ? ['/F'] : [])];
}

/** What taskkill said about one process of the tree. */
export interface TaskkillLine {
  pid: number;
  /** The parent taskkill named (`child process of PID n`), `null` for the root. */
  parentPid: number | null;
  /** `signalled`: asked to close; `terminated`: ended (`/F`); `failed`: refused (reason given); `not-found`. */
  outcome: 'signalled' | 'terminated' | 'failed' | 'not-found';
  reason: string | null;
}

const SIGNALLED =
  /^SUCCESS: Sent termination signal to the process with PID (\d+)(?:, child of PID (\d+))?\.?$/;
const TERMINATED =
  /^SUCCESS: The process with PID (\d+)(?: \(child process of PID (\d+)\))? has been terminated\.?$/;
const FAILED =
  /^ERROR: The process with PID (\d+)(?: \(child process of PID (\d+)\))? could not be terminated\.?$/;
const NOT_FOUND = /^ERROR: The process "(\d+)" not found\.?$/;
const REASON = /^Reason: (.*)$/;

/**
 * Reads taskkill's stdout and stderr (in any order, CRLF or LF), one entry per
 * process it names. Lines it does not know (another locale) are skipped: the
 * caller then goes by the exit status (128: no such process).
 *
 * @example
 * parseTaskkill('SUCCESS: The process with PID 4300 (child process of PID 4242) has been terminated.')
 * // [{ pid: 4300, parentPid: 4242, outcome: 'terminated', reason: null }]
 */
export function parseTaskkill(text: string): TaskkillLine[] {
  const out: TaskkillLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const reason = REASON.exec(line);
    if (reason && out.length > 0 && out[out.length - 1]!.outcome === 'failed') {
      out[out.length - 1]!.reason = reason[1]!;
      continue;
    }
    const found: [RegExpExecArray | null, TaskkillLine['outcome']][] = [
      [SIGNALLED.exec(line), 'signalled'],
      [TERMINATED.exec(line), 'terminated'],
      [FAILED.exec(line), 'failed'],
      [NOT_FOUND.exec(line), 'not-found'],
    ];
    for (const [match, outcome] of found) {
      if (!match) continue;
      out.push({
        pid: Number(match[1]),
        parentPid: match[2] === undefined ? null : Number(match[2]),
        outcome,
        reason: null,
      });
      break;
    }
  }
  return out;
}

/** taskkill's exit status when no process matched. */
export const TASKKILL_NOT_FOUND = 128;

/**
 * Whether taskkill reached anything: `gone` when every named process was not
 * found (or, with no line understood, when the status says so).
 *
 * @example
 * taskkillOutcome(parseTaskkill('ERROR: The process "4242" not found.'), 128) // 'gone'
 */
export function taskkillOutcome(lines: readonly TaskkillLine[], status: number | null): 'sent' | 'gone' {
  if (lines.length === 0) return status === TASKKILL_NOT_FOUND ? 'gone' : 'sent';
  return lines.every((l) => l.outcome === 'not-found') ? 'gone' : 'sent';
}
