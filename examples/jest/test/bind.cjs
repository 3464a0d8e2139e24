// What every worker test does: listen on the port berth leased for its worker, then say so.
const { appendFileSync } = require('node:fs');
const { createServer } = require('node:net');

/** Listens on `port` (exclusive: a second listener anywhere would fail with EADDRINUSE). */
function bind(port) {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end('hi'));
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function close(server) {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** For berth's own e2e test: which process had which port bound, from `since` until now (BERTH_EXAMPLE_REPORT names the file). */
function report(port, test, since = Date.now()) {
  const file = process.env.BERTH_EXAMPLE_REPORT;
  if (file)
    appendFileSync(file, `${JSON.stringify({ port, pid: process.pid, test, since, until: Date.now() })}\n`);
}

module.exports = { bind, close, report };
