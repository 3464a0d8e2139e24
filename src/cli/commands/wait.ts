/**
 * `berth wait [service...] [--timeout 60s] [--json]`: polls each service's
 * health check until all are healthy. On a terminal, one live line per
 * service redrawn in place; otherwise a plain line as each comes up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { leasedServices } from '../../compose/diagnostics.js';
import type { PortManager } from '../../compose/manager.js';
import type { CheckStatus, HealthSpec, ResolvedConfig } from '../../core/types.js';
import { HEALTH_INTERVAL_MS } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { parseDuration } from '../duration.js';
import type { CommandIO } from '../io.js';
import { projectCommand } from '../project.js';
import type { Paint } from '../style.js';

const HELP = `Usage: berth wait [service...] [--timeout 60s] [--json]

Waits until the services (every leased service by default) pass their health
check, polling at each service's health.intervalMs. A service whose checks
are off (enableHealthChecks: false, health: false) is waited for with a TCP
connect. Exits 1 naming the services that did not come up in time, and why.`;

/** Default for --timeout, in milliseconds. */
export const WAIT_TIMEOUT_MS = 60_000;

/** How often the live progress lines are redrawn on a terminal, in milliseconds. */
const REDRAW_INTERVAL_MS = 100;

/** Spinner frames of the live progress lines. */
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** One service being waited for. */
export interface Watch {
  service: string;
  port: number;
  /**
   * `waiting` until an outcome; then `healthy`, or, when time ran out, what the
   * last check found: `not-running` (nothing listened) or `unhealthy`.
   */
  status: 'waiting' | 'healthy' | 'unhealthy' | 'not-running';
  /** The last check's reason (why it is not healthy yet): `not running` while nothing listens. */
  reason: string | null;
  /** The last check's latency, in milliseconds. */
  latencyMs: number | null;
  /** Milliseconds from the start of the wait to the outcome (or to now, while waiting). */
  waitedMs: number;
}

/** Formats milliseconds as `1.2s`. */
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * One progress line: `⠋ server  3000  waiting 2.1s: not running`.
 * `width` truncates it so a redraw never wraps (which would break moving the cursor up).
 *
 * @example
 * progressLine({ service: 'server', port: 3000, status: 'healthy', reason: null, latencyMs: 3, waitedMs: 1200 }, 0, 6, painter(false), 80);
 * // '✔ server  3000  healthy after 1.2s (3 ms)'
 */
export function progressLine(
  w: Watch,
  frame: number,
  nameWidth: number,
  paint: Paint,
  width: number,
): string {
  const head = `${w.service.padEnd(nameWidth)}  ${String(w.port).padStart(5)}`;
  let mark: string;
  let text: string;
  if (w.status === 'healthy') {
    mark = paint.green('✔');
    text = `healthy after ${seconds(w.waitedMs)} (${w.latencyMs} ms)`;
  } else if (w.status === 'not-running') {
    mark = paint.red('✖');
    text = `still not running after ${seconds(w.waitedMs)}`;
  } else if (w.status === 'unhealthy') {
    mark = paint.red('✖');
    text = `not healthy after ${seconds(w.waitedMs)}${w.reason ? `: ${w.reason}` : ''}`;
  } else {
    mark = paint.cyan(SPINNER[frame % SPINNER.length]!);
    text = `waiting ${seconds(w.waitedMs)}${w.reason ? `: ${w.reason}` : ''}`;
  }
  const plain = `${head}  ${text}`;
  const room = Math.max(10, width - 3);
  return `${mark} ${plain.length > room ? `${plain.slice(0, room - 1)}…` : plain}`;
}

/**
 * The escape sequence that redraws `lines` over the previous `lines.length`
 * lines: cursor up that many lines, then each line cleared and rewritten.
 * The caller's write adds the final newline.
 *
 * @example
 * redraw(['a', 'b']); // '\x1b[2A\r\x1b[2Ka\n\r\x1b[2Kb'
 */
export function redraw(lines: readonly string[]): string {
  return `\u001b[${lines.length}A${lines.map((line) => `\r\u001b[2K${line}`).join('\n')}`;
}

/** The health check to wait with: the service's own, or a TCP connect when its checks are off. */
function waitSpec(config: ResolvedConfig, service: string): HealthSpec {
  const spec = config.services.find((s) => s.name === service)?.health;
  return (
    spec ?? {
      type: 'tcp',
      path: '/',
      expectStatus: null,
      intervalMs: HEALTH_INTERVAL_MS,
      timeoutMs: config.healthCheckTimeout,
    }
  );
}

/** Polls one service until healthy or `deadline` (epoch ms); `changed` after each check. */
async function poll(
  pm: PortManager,
  w: Watch,
  spec: HealthSpec,
  started: number,
  deadline: number,
  portOf: () => number | null,
  changed: () => void,
): Promise<void> {
  let last: CheckStatus | null = null;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    // Follow the lease if it moved (berth check --fix, a re-assign) while we wait.
    const port = portOf();
    if (port === null) {
      last = null;
      w.reason = 'the lease was released';
    } else {
      w.port = port;
      const health = await pm.adapters.health.check(spec, port, { maxTimeoutMs: left });
      last = health.status;
      // Not started yet is what berth wait waits for, not an error to show.
      w.reason = health.status === 'not-running' ? 'not running' : health.reason;
      w.latencyMs = health.latencyMs;
      w.waitedMs = Date.now() - started;
      if (health.status === 'healthy') {
        w.status = 'healthy';
        changed();
        return;
      }
    }
    changed();
    const pause = Math.min(spec.intervalMs, deadline - Date.now());
    if (pause > 0) await sleep(pause);
  }
  w.status = last === 'not-running' ? 'not-running' : 'unhealthy';
  w.waitedMs = Date.now() - started;
  changed();
}

export default projectCommand({
  name: 'wait',
  help: HELP,
  options: { timeout: { type: 'string', short: 't' } },
  check: ({ values }) =>
    values.timeout === undefined ? WAIT_TIMEOUT_MS : parseDuration(values.timeout, '--timeout'),
  run: async ({ values, positionals, pm, io, args: timeoutMs }) => {
    const leases = leasedServices(pm, positionals);
    if (leases.length === 0) {
      throw new BerthError(
        'E_NOT_FOUND',
        'no leases for this project to wait for; run `berth assign` first.',
      );
    }
    const scope = { dir: pm.config.dir, environment: pm.config.environment };
    const portOf = (service: string) => () =>
      pm.adapters.registry.scopeLeases(scope).find((l) => l.service === service)?.port ?? null;
    const watches: Watch[] = leases.map((l) => ({
      service: l.service,
      port: l.port,
      status: 'waiting',
      reason: null,
      latencyMs: null,
      waitedMs: 0,
    }));
    const started = Date.now();
    const deadline = started + timeoutMs;
    const live = io.errIsTTY ? liveLines(watches, io, started) : null;
    const changed = (w: Watch) => () => {
      if (live) live.draw();
      else if (w.status === 'healthy' && !values.json) {
        io.out(`${w.service} is healthy on port ${w.port} after ${seconds(w.waitedMs)} (${w.latencyMs} ms)`);
      }
    };
    try {
      await Promise.all(
        watches.map((w) =>
          poll(pm, w, waitSpec(pm.config, w.service), started, deadline, portOf(w.service), changed(w)),
        ),
      );
    } finally {
      live?.stop();
    }
    const failed = watches.filter((w) => w.status !== 'healthy');
    if (values.json) {
      io.out(JSON.stringify({ ok: failed.length === 0, services: watches }, null, 2));
    }
    if (failed.length > 0) {
      throw new BerthError(
        'E_TIMEOUT',
        `${failed.map((w) => w.service).join(', ')} did not become healthy within ${seconds(timeoutMs)}. Check ${failed.length === 1 ? 'its' : 'their'} logs, or wait longer with --timeout.`,
        {
          details: failed.map((w) => `${w.service} (port ${w.port}): ${w.reason ?? 'no check finished'}`),
          data: { services: failed.map((w) => w.service) },
        },
      );
    }
    return 0;
  },
});

/** The live progress block on stderr: drawn once, then redrawn in place. */
function liveLines(watches: readonly Watch[], io: CommandIO, started: number) {
  const nameWidth = Math.max(...watches.map((w) => w.service.length));
  const width = process.stderr.columns || 80;
  let frame = 0;
  const lines = () =>
    watches.map((w) => {
      if (w.status === 'waiting') w.waitedMs = Date.now() - started;
      return progressLine(w, frame, nameWidth, io.paintErr, width);
    });
  io.err(lines().join('\n'));
  const draw = () => io.err(redraw(lines()));
  const timer = setInterval(() => {
    frame++;
    draw();
  }, REDRAW_INTERVAL_MS);
  return {
    draw,
    stop: () => {
      clearInterval(timer);
      draw();
    },
  };
}
