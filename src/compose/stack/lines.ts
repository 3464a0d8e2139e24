/**
 * Output prefixing's first half: a service's stdout and stderr arrive in
 * chunks that may end mid-line, so each stream is cut into whole lines before
 * anything is printed; two services' partial lines never mix.
 */
import type { SpawnedProcess } from '../../core/facts.js';

/** Cuts a stream of text into lines; `\r\n` and `\n` both end one. */
export class LineSplitter {
  private rest = '';

  /** The lines `text` completes. */
  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop()!;
    return parts.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  }

  /** What is left without a newline (at exit), or `null`. */
  flush(): string | null {
    const rest = this.rest;
    this.rest = '';
    return rest === '' ? null : rest;
  }
}

/**
 * Sends each whole line `proc` writes to `emit`; a last unterminated line is
 * sent when the process exits.
 *
 * @example
 * attachLines(proc, (stream, line) => console.log(`api | ${line}`));
 */
export function attachLines(
  proc: Pick<SpawnedProcess, 'onOutput' | 'exited'>,
  emit: (stream: 'stdout' | 'stderr', line: string) => void,
): void {
  const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  proc.onOutput((stream, text) => {
    for (const line of splitters[stream].push(text)) emit(stream, line);
  });
  void proc.exited.then(() => {
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = splitters[stream].flush();
      if (rest !== null) emit(stream, rest);
    }
  });
}
