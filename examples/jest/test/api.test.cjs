const { berthPorts } = require('berth-ports/jest');
const { report } = require('./bind.cjs');

test('reaches the api the global setup started, on the port berth leased for this run', async () => {
  const { ports, urls } = berthPorts();
  expect(urls.api).toBe(`http://localhost:${ports.api}`);
  report(ports.api, `api of run ${process.env.BERTH_RUN_ID}`);
  const res = await fetch(urls.api);
  expect(await res.text()).toContain(`hello from the api on ${urls.api}`);
});

test('sees the same ports as API_PORT and API_URL, for code that reads them', () => {
  expect(process.env.API_PORT).toBe(String(berthPorts().ports.api));
  expect(process.env.API_URL).toBe(berthPorts().urls.api);
});
