import { workerPort, workerPorts } from 'berth-ports/vitest';
import { expect, it } from 'vitest';
import { bind, close, report } from './bind.js';

it('binds the port leased for its worker (zeta)', async () => {
  const port = await workerPort();
  const since = Date.now();
  const server = await bind(port);
  expect(await workerPort()).toBe(port); // the same port for the worker's whole life
  await close(server);
  report(port, 'zeta/port', since);
});

it('binds two more ports of its worker at once (zeta)', async () => {
  const ports = await workerPorts(2);
  const since = Date.now();
  const servers = await Promise.all(ports.map(bind));
  expect(new Set(ports).size).toBe(2);
  await Promise.all(servers.map(close));
  for (const port of ports) report(port, 'zeta/ports', since);
});
