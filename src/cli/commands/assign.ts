/**
 * `berth assign [service...] [--strategy S] [--ttl 30m] [--json]`: assigns
 * services (all by default) and prints every decision, seed-style.
 */
import type { AssignResult } from '../../compose/manager.js';
import { CONFLICT_STRATEGIES, type ConflictStrategy } from '../../core/types.js';
import { BerthError } from '../../errors.js';
import { parseDuration } from '../duration.js';
import type { CommandIO } from '../io.js';
import { projectCommand } from '../project.js';
import { table } from '../style.js';

const HELP = `Usage: berth assign [service...] [--strategy ${CONFLICT_STRATEGIES.join('|')}] [--ttl 30m] [--json]

Assigns ports to the services (all of them by default), records them as leases
in the shared registry and prints why each service got its port. A lease lasts
until \`berth release\`, or for --ttl.`;

/** Validates a --strategy value. */
export function parseStrategy(value: string | undefined): ConflictStrategy | undefined {
  if (value === undefined) return undefined;
  if (!(CONFLICT_STRATEGIES as readonly string[]).includes(value)) {
    throw new BerthError(
      'E_USAGE',
      `--strategy "${value}" is not a strategy. Use one of ${CONFLICT_STRATEGIES.join(', ')}.`,
    );
  }
  return value as ConflictStrategy;
}

/** Prints decisions and a summary table. */
export function printAssignment(result: AssignResult, io: CommandIO): void {
  for (const d of result.decisions) {
    const mark = d.from !== null ? io.paint.yellow('↻') : io.paint.green('✔');
    io.out(`${mark} ${d.message}`);
  }
  const rows = Object.entries(result.services).map(([name, s]) => [name, String(s.port), s.strategy, s.url]);
  io.out('');
  io.out(table(['SERVICE', 'PORT', 'STRATEGY', 'URL'], rows, { right: [1] }));
}

export default projectCommand({
  name: 'assign',
  help: HELP,
  options: {
    strategy: { type: 'string' },
    ttl: { type: 'string' },
  },
  check: ({ values }) => {
    const strategy = parseStrategy(values.strategy);
    const ttlMs = values.ttl === undefined ? undefined : parseDuration(values.ttl, '--ttl');
    return { ...(strategy ? { strategy } : {}), ...(ttlMs ? { ttlMs } : {}) };
  },
  run: async ({ values, positionals, pm, io, args: opts }) => {
    const result =
      positionals.length > 0 ? await pm.assignServices(positionals, opts) : await pm.assignAll(opts);
    if (values.json) io.out(JSON.stringify(result, null, 2));
    else printAssignment(result, io);
    return 0;
  },
});
