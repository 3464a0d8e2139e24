// For berth's own e2e test of an interrupted run (not matched by jest.config.cjs's testMatch):
// keeps the run going while the runner is interrupted.
test('holds the run open', () => new Promise((resolve) => setTimeout(resolve, 60_000)), 120_000);
