/**
 * The lease child of `berth-ports/playwright` (src/compose/test-run/web-servers.ts):
 * Playwright's config is synchronous, so `berthWebServers()` runs this and waits.
 */
import { answerLeaseRequest } from '../../compose/test-run/web-servers.js';

void answerLeaseRequest();
