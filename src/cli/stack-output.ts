/**
 * How `berth up` and `berth down` print a stack's events: each line prefixed
 * with its service's name, padded, in a colour of its own on a terminal (the
 * same colour every run: it comes from the name), plain elsewhere or with
 * NO_COLOR. A service's stdout goes to berth's stdout and its stderr to
 * berth's stderr; berth's own lines go to stderr. With `--json`, every event
 * is one JSON object per line on stdout.
 */
import type { StackEvent, UpService } from '../compose/stack/start.js';
import { wrongPortLine } from '../core/wrong-port.js';
import type { CommandIO } from './io.js';
import type { Paint } from './style.js';
import { table } from './style.js';

/** The colours prefixes cycle through (red is kept for failures). */
const PREFIX_COLOURS = ['cyan', 'yellow', 'green', 'magenta', 'blue'] as const;

/**
 * The colour of a service's prefix: a hash of its name (FNV-1a), so it is the
 * same in every run and does not change when another service is added.
 *
 * @example
 * prefixColour('api') === prefixColour('api') // true
 */
export function prefixColour(service: string): (typeof PREFIX_COLOURS)[number] {
  let hash = 0x811c9dc5;
  for (const char of service) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return PREFIX_COLOURS[hash % PREFIX_COLOURS.length]!;
}

/** `1.2 s`, `612 ms`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The summary printed once every service is ready. */
export function summaryTable(services: readonly UpService[]): string {
  const named = services.some((s) => s.name !== null);
  return table(
    ['SERVICE', 'PORT', 'URL', ...(named ? ['NAME'] : []), 'READY IN'],
    services.map((s) => [
      s.service,
      String(s.port),
      s.url,
      ...(named ? [s.name ?? '-'] : []),
      s.readyMs === null ? 'done' : formatMs(s.readyMs),
    ]),
    { right: [1] },
  );
}

/** One line of berth's own about a service. */
function describe(event: StackEvent): string | null {
  switch (event.type) {
    case 'starting':
      return `berth: starting \`${event.command}\` on port ${event.port} (pid ${event.pid}${event.restarts > 0 ? `, restart ${event.restarts}` : ''})`;
    case 'port-args':
      return `berth: ${event.message}`;
    case 'wrong-port':
      return `berth: warning: ${wrongPortLine({ pid: event.pid, command: event.command, port: event.listening }, event.port, event.fix)}`;
    case 'watching':
      return `berth: waiting for something to listen on port ${event.port} (berth up does not start it: it has no command)`;
    case 'ready':
      return `berth: ready on ${event.url} after ${formatMs(event.ms)}`;
    case 'waiting':
      return `berth: not ready yet: ${event.reason}`;
    case 'exited':
      return `berth: exited with ${event.code === null ? `signal ${event.signal}` : `code ${event.code}`}`;
    case 'restarting': {
      const of = event.maxRestarts === null ? '' : ` of ${event.maxRestarts}`;
      return `berth: restarting in ${formatMs(event.delayMs)} (restart ${event.restarts}${of})`;
    }
    case 'moved':
      return `berth: moved from port ${event.from} to ${event.to}: ${event.reason}`;
    case 'stopping':
      return `berth: stopping (${event.signal} to its process group)`;
    case 'killed':
      return event.afterMs > 0
        ? `berth: still running ${formatMs(event.afterMs)} after the stop signal; sent SIGKILL`
        : 'berth: killed (SIGKILL)';
    case 'stopped':
      return 'berth: stopped';
    default:
      return null;
  }
}

/** Where a stack's events go, and how they look. */
export interface StackPrinterOptions {
  json: boolean;
  /** Every name a prefix may carry, to pad them to one width. */
  names: readonly string[];
}

/**
 * A printer for a stack's events (see the module comment).
 *
 * @example
 * const print = stackPrinter(io, { json: false, names: ['db', 'api'] });
 * print({ type: 'output', service: 'api', stream: 'stdout', line: 'listening' }); // "api | listening"
 */
export function stackPrinter(io: CommandIO, options: StackPrinterOptions): (event: StackEvent) => void {
  if (options.json) return (event) => io.out(JSON.stringify(event));
  const width = Math.max(0, ...options.names.map((n) => n.length));
  const prefix = (service: string, paint: Paint) =>
    paint[prefixColour(service)](`${service.padEnd(width)} |`);
  return (event) => {
    switch (event.type) {
      case 'assigned':
        for (const d of event.decisions) io.err(d.message);
        return;
      case 'output':
        if (event.stream === 'stdout') io.out(`${prefix(event.service, io.paint)} ${event.line}`);
        else io.err(`${prefix(event.service, io.paintErr)} ${event.line}`);
        return;
      case 'up':
        io.err(`berth: ${io.paintErr.green('every service is ready')}`);
        io.err(summaryTable(event.services));
        return;
      case 'failed':
        io.err(`berth: ${io.paintErr.red(`${event.service} ${event.reason}`)}; stopping the stack`);
        return;
      default: {
        const line = describe(event);
        if (line !== null) io.err(`${prefix(event.service, io.paintErr)} ${line}`);
      }
    }
  };
}
