/**
 * One berth process of the etcd fleet tests: `node worker.mjs`, with BERTH_REGISTRY,
 * BERTH_HOST and BERTH_HOME in its environment. Reads lines on stdin:
 * - `go N`: N concurrent getPort() calls; answers one JSON line
 *   `{ pid, ports: [...], errors: [{ code, message }] }` and keeps its leases;
 * - `warm`: one getPort() and its release, so the registry is open and connected; answers `warm`;
 * - `end`: exits (its leases end with it).
 * Says `started` once the library is imported.
 */
import { createInterface } from 'node:readline';

const dist = new URL('../../dist/index.js', import.meta.url);
const { getPort, releasePort } = await import(dist.href);

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  if (line === 'end') process.exit(0);
  if (line === 'warm') {
    await releasePort(await getPort());
    process.stdout.write('warm\n');
    return;
  }
  const [word, count] = line.split(' ');
  if (word !== 'go') return;
  const answers = await Promise.all(
    Array.from({ length: Number(count) }, () =>
      getPort().then(
        (port) => ({ port }),
        (error) => ({ error: { code: error.code ?? 'none', message: String(error.message).slice(0, 300) } }),
      ),
    ),
  );
  const ports = answers.flatMap((a) => (a.port === undefined ? [] : [a.port]));
  const errors = answers.flatMap((a) => (a.error === undefined ? [] : [a.error]));
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ports, errors })}\n`);
});
lines.once('close', () => process.exit(0));
process.stdout.write('started\n');
