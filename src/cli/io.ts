/**
 * The streams a command writes to, so tests and the daemon can capture them.
 */
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
  errIsTTY: boolean;
}

/** IO bound to the process's stdout and stderr. */
export function processIO(): CommandIO {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    paint: painter(useColor(process.stdout)),
    paintErr: painter(useColor(process.stderr)),
    errIsTTY: process.stderr.isTTY === true,
  };
}

/** A command: parses its own arguments, writes through `io`, returns an exit code or throws. */
export type Command = (argv: string[], io: CommandIO) => Promise<number>;
