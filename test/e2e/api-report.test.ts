/**
 * The public API, pinned: the report of every declaration the package's entries expose
 * (scripts/api-report.mjs, from the built .d.ts files) must equal the committed
 * api/berth.api.md. An accidental change fails here; a deliberate one runs
 * `npm run api:report` and commits the new report with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

describe('the public API', () => {
  it('is the committed api/berth.api.md (run `npm run api:report` after a deliberate change)', async () => {
    const { apiReport, REPORT } = (await import(join(ROOT, 'scripts/api-report.mjs'))) as {
      apiReport: () => string;
      REPORT: string;
    };
    expect(apiReport()).toBe(readFileSync(REPORT, 'utf8'));
  });
});
