import { expect, inject, it } from 'vitest';
import { report } from './bind.js';

it('reaches the api the global setup started, on the port berth leased for this run', async () => {
  const { ports, urls, runId } = inject('berth');
  expect(urls.api).toBe(`http://localhost:${ports.api}`);
  expect(runId).toMatch(/^[0-9a-f]{8}$/);
  report(ports.api!, `api of run ${runId}`);
  const res = await fetch(urls.api!);
  expect(await res.text()).toContain(`hello from the api on ${urls.api}`);
});

it('sees the same ports in the environment (API_PORT, API_URL), for code that reads them', () => {
  expect(process.env.API_PORT).toBe(String(inject('berth').ports.api));
  expect(process.env.API_URL).toBe(inject('berth').urls.api);
});
