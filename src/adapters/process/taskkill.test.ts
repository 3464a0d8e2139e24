import { describe, expect, it } from 'vitest';
import { parseTaskkill, taskkillArgs, taskkillOutcome } from './taskkill.js';

// Golden output of taskkill on Windows 10/11 (English), CRLF as the console writes it.
const POLITE_TREE = [
  'SUCCESS: Sent termination signal to the process with PID 6120, child of PID 5000.',
  'SUCCESS: Sent termination signal to the process with PID 5000, child of PID 4242.',
  'SUCCESS: Sent termination signal to the process with PID 4242.',
].join('\r\n');

const CONSOLE_APPS = [
  'ERROR: The process with PID 6120 (child process of PID 5000) could not be terminated.',
  'Reason: This process can only be terminated forcefully (with /F option).',
  'ERROR: The process with PID 4242 (child process of PID 3000) could not be terminated.',
  'Reason: This process can only be terminated forcefully (with /F option).',
].join('\r\n');

const FORCED_TREE = [
  'SUCCESS: The process with PID 6120 (child process of PID 5000) has been terminated.',
  'SUCCESS: The process with PID 5000 (child process of PID 4242) has been terminated.',
  'SUCCESS: The process with PID 4242 (child process of PID 3000) has been terminated.',
].join('\r\n');

const NOT_FOUND = 'ERROR: The process "4242" not found.\r\n';

describe('taskkill', () => {
  it('asks politely, and forces only for SIGKILL, always for the whole tree', () => {
    expect(taskkillArgs(4242, false)).toEqual(['/PID', '4242', '/T']);
    expect(taskkillArgs(4242, true)).toEqual(['/PID', '4242', '/T', '/F']);
  });

  it('reads a tree asked to close', () => {
    expect(parseTaskkill(POLITE_TREE)).toEqual([
      { pid: 6120, parentPid: 5000, outcome: 'signalled', reason: null },
      { pid: 5000, parentPid: 4242, outcome: 'signalled', reason: null },
      { pid: 4242, parentPid: null, outcome: 'signalled', reason: null },
    ]);
  });

  it('reads console programs that only go with /F, with the reason', () => {
    const lines = parseTaskkill(CONSOLE_APPS);
    expect(lines.map((l) => [l.pid, l.outcome])).toEqual([
      [6120, 'failed'],
      [4242, 'failed'],
    ]);
    expect(lines[0]!.reason).toBe('This process can only be terminated forcefully (with /F option).');
    expect(taskkillOutcome(lines, 255)).toBe('sent');
  });

  it('reads a forced tree', () => {
    expect(parseTaskkill(FORCED_TREE).map((l) => [l.pid, l.parentPid, l.outcome])).toEqual([
      [6120, 5000, 'terminated'],
      [5000, 4242, 'terminated'],
      [4242, 3000, 'terminated'],
    ]);
  });

  it('calls a process that is not there gone, by its line or, in another locale, by the status', () => {
    expect(parseTaskkill(NOT_FOUND)).toEqual([
      { pid: 4242, parentPid: null, outcome: 'not-found', reason: null },
    ]);
    expect(taskkillOutcome(parseTaskkill(NOT_FOUND), 128)).toBe('gone');
    expect(taskkillOutcome(parseTaskkill('FEHLER: Der Prozess "4242" wurde nicht gefunden.'), 128)).toBe(
      'gone',
    );
    expect(taskkillOutcome([], 0)).toBe('sent');
  });
});
