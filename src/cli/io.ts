/**
 * The streams a command writes to, so tests and the daemon can capture them.
 *
 * Lines go out with `fs.writeSync` on fds 1 and 2: touching `process.stdout`
 * builds a stream (and loads Node's stream modules), a few milliseconds of
 * every CLI start that `berth get server` does not need. The stream is only
 * consulted, lazily, when colour or a terminal matters.
 */
import { writeSync } from 'node:fs';
import { type Paint, painter, useColor } from './style.js';

/** Output channels of a command. */
export interface CommandIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Painter for stdout (identity when colour is off). */
  paint: Paint;
  /** Painter for stderr. */
  paintErr: Paint;
  /** Whether stderr is a terminal (live progress lines). */
  readonly errIsTTY: boolean;
}

const wait = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Writes all of `text` to `fd`, waiting out a full non-blocking pipe; a closed reader ends output quietly. */
export function writeLine(fd: 1 | 2, text: string): void {
  const buffer = Buffer.from(`${text}\n`);
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += writeSync(fd, buffer, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') wait(1);
      else if (code === 'EPIPE') return;
      else throw error;
    }
  }
}

/** IO bound to the process's stdout and stderr. */
export function processIO(): CommandIO {
  return {
    out: (text) => writeLine(1, text),
    err: (text) => writeLine(2, text),
    paint: painter(() => useColor(process.stdout)),
    paintErr: painter(() => useColor(process.stderr)),
    get errIsTTY() {
      return process.stderr.isTTY === true;
    },
  };
}

/** A command: parses its own arguments, writes through `io`, returns an exit code or throws. */
export type Command = (argv: string[], io: CommandIO) => Promise<number>;
