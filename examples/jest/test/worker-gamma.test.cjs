const { workerPort, workerPorts } = require('berth-ports/jest');
const { bind, close, report } = require('./bind.cjs');

test('binds the port leased for its worker (gamma)', async () => {
  const port = await workerPort();
  const since = Date.now();
  const server = await bind(port);
  expect(await workerPort()).toBe(port); // the same port for the worker's whole life
  await close(server);
  report(port, 'gamma/port', since);
});

test('binds two more ports of its worker at once (gamma)', async () => {
  const ports = await workerPorts(2);
  const since = Date.now();
  const servers = await Promise.all(ports.map(bind));
  expect(new Set(ports).size).toBe(2);
  await Promise.all(servers.map(close));
  for (const port of ports) report(port, 'gamma/ports', since);
});
