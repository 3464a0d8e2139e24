import { test } from '@playwright/test';

// For berth's own e2e test of an interrupted run: BERTH_EXAMPLE_HOLD_MS keeps the run going.
test('holds the run open while the runner is interrupted (BERTH_EXAMPLE_HOLD_MS)', async () => {
  const holdMs = Number(process.env.BERTH_EXAMPLE_HOLD_MS ?? 0);
  test.setTimeout(holdMs + 30_000);
  await new Promise((resolve) => setTimeout(resolve, holdMs));
});
