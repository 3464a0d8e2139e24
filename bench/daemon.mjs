// Throughput of the daemon's GET /api/ports under load, as a ratio to a bare
// node:http server returning the same JSON bytes, measured in the same run
// with the same autocannon settings, rounds alternating, medians compared.
// Also samples the daemon's resident memory (VmRSS) while it serves.
//
//   npm run build && node bench/daemon.mjs [results.json]
//
// Targets: ratio >= 0.7, RSS < 100 MB. Prints a summary, then the numbers as
// JSON on the last line (and writes them to argv[2] when given).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli/main.js');
const CONNECTIONS = 10;
const DURATION_S = 5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RSS_SAMPLE_MS = 250;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function waitForLine(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c) => {
      err += c;
    });
    child.stdout.on('data', (c) => {
      out += c;
      const m = pattern.exec(out);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${err}`)));
  });
}

function runCli(args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`berth ${args.join(' ')}: ${err}`)),
    );
  });
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function load(url, headers) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return result.requests.average;
}

const root = mkdtempSync(join(tmpdir(), 'berth-bench-daemon-'));
const home = join(root, 'home');
const project = join(root, 'bench');
mkdirSync(project);
writeFileSync(
  join(project, 'berth.config.json'),
  JSON.stringify({
    project: 'bench',
    services: {
      server: { preferred: [12000], range: { min: 12000, max: 12999 }, priority: 'high', requires: ['http'] },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      client: { preferred: [12001], range: { min: 12000, max: 12999 }, requires: ['http'] },
      database: { preferred: [12432], range: { min: 12000, max: 12999 }, requires: ['tcp'] },
      redis: { preferred: [12379], range: { min: 12000, max: 12999 }, requires: ['tcp'] },
      monitoring: {
        preferred: [12091],
        range: { min: 12000, max: 12999 },
        priority: 'low',
        requires: ['http'],
      },
    },
  }),
);
const env = { ...process.env, BERTH_HOME: home, NO_COLOR: '1' };
const children = [];
try {
  await runCli(['assign'], { cwd: project, env });
  // No proxy: this measures the API, and the proxy's fixed port may be taken on this machine.
  const daemon = spawn(process.execPath, [CLI, 'serve', '--no-proxy'], {
    cwd: project,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(daemon);
  const [, base] = await waitForLine(daemon, /Dashboard: (http:\/\/[^/]+\/)/, 'berth serve');
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}` };
  const daemonUrl = `${base}api/ports?project=bench&env=development`;
  const body = await (await fetch(daemonUrl, { headers })).text();
  if (!JSON.parse(body).success) throw new Error(`the daemon answered ${body}`);

  // The bare server: the same bytes and content type, precomputed (the strictest baseline), in its own process like the daemon.
  const bare = spawn(
    process.execPath,
    [
      '-e',
      `const body = process.argv[1];
       const length = Buffer.byteLength(body);
       require('node:http').createServer((req, res) => {
         res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length });
         res.end(body);
       }).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });`,
      body,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(bare);
  const [, barePort] = await waitForLine(bare, /port (\d+)/, 'bare server');
  const bareUrl = `http://127.0.0.1:${barePort}/api/ports`;

  const daemonRps = [];
  const bareRps = [];
  const rss = [];
  for (let round = 0; round < ROUNDS; round++) {
    const sampler = setInterval(() => rss.push(rssMb(daemon.pid)), RSS_SAMPLE_MS);
    daemonRps.push(await load(daemonUrl, headers));
    clearInterval(sampler);
    bareRps.push(await load(bareUrl, {}));
    console.log(
      `round ${round + 1}: daemon ${Math.round(daemonRps[round])} req/s, bare node:http ${Math.round(bareRps[round])} req/s`,
    );
  }
  const result = {
    route: 'GET /api/ports',
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    rounds: ROUNDS,
    bodyBytes: Buffer.byteLength(body),
    daemonRps: Math.round(median(daemonRps)),
    bareRps: Math.round(median(bareRps)),
    ratio: Number((median(daemonRps) / median(bareRps)).toFixed(3)),
    daemonRssMbMax: Number(Math.max(...rss).toFixed(1)),
    daemonRssMbMedian: Number(median(rss).toFixed(1)),
    targets: { ratio: 0.7, rssMb: 100 },
  };
  result.pass = result.ratio >= result.targets.ratio && result.daemonRssMbMax < result.targets.rssMb;
  console.log(
    `median: daemon ${result.daemonRps} req/s vs bare ${result.bareRps} req/s = ${result.ratio}x (target >= 0.7); ` +
      `daemon RSS while serving: max ${result.daemonRssMbMax} MB (target < 100 MB)`,
  );
  if (process.argv[2]) writeFileSync(process.argv[2], `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  rmSync(root, { recursive: true, force: true });
}
