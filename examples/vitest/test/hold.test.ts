import { it } from 'vitest';

// For berth's own e2e test of an interrupted run: BERTH_EXAMPLE_HOLD_MS keeps the run going.
const holdMs = Number(process.env.BERTH_EXAMPLE_HOLD_MS ?? 0);

it.runIf(holdMs > 0)(
  'holds the run open while the runner is interrupted',
  () => new Promise((r) => setTimeout(r, holdMs)),
  120_000,
);
