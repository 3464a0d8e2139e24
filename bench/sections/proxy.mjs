/**
 * 12. Proxy: berth's name proxy (in `berth serve`) against http-proxy-3 (the
 * proxy Vite uses) and a minimal node:http pipe of our own, each in a process
 * of its own in front of the same small keep-alive HTTP server; the server
 * directly for the ratio of one extra hop. Rounds interleave the four targets
 * (order rotated each round); medians of the rounds. Then, at concurrency 1,
 * the median time a request and a websocket echo round trip take through each
 * proxy minus directly; and the daemon's RSS with 100 websockets open through it.
 * Each load run also reads the CPU time the serving process (the proxy, or the
 * server for `direct`) spent per request from /proc: on a machine other work
 * shares, it moves far less than req/s does.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import { distPath } from '../support/dist.mjs';
import { findFreePorts } from '../support/ports.mjs';
import { fmt, target } from '../support/report.mjs';
import { median, rotate } from '../support/stats.mjs';

const PEERS = join(dirname(fileURLToPath(import.meta.url)), '../support/proxy-peers.mjs');
const ROUNDS = Number(process.env.BENCH_PROXY_ROUNDS ?? 7);
const CONNECTIONS = 10;
const DURATION_S = 3;
const SEQUENTIAL = 2000;
const WARMUP = 200;
const SOCKETS = 100;
const TARGETS = ['berth', 'http-proxy-3', 'pipe', 'direct'];

function waitForLine(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c) => {
      err += c;
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
      out += c;
      const m = pattern.exec(out);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${err}`)));
  });
}

/** CPU seconds (user + system) process `pid` has used, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

const loopback = (_host, options, cb) =>
  options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);

/** Microseconds per request, sequential, one keep-alive connection. */
async function sequential(port, host, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: { host } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  agent.destroy();
  return samples;
}

/** Microseconds per websocket echo round trip, one socket. */
async function echoes(url, n) {
  const ws = new WebSocket(url, { lookup: loopback, perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const samples = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await new Promise((resolve) => {
      ws.once('message', resolve);
      ws.send('ping');
    });
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  ws.close();
  return samples;
}

/** One autocannon run: requests per second, and microseconds of CPU `pid` spent per request. */
async function load(port, host, pid) {
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { host },
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${host}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rps: result.requests.average, cpu: ((cpuSeconds(pid) - cpuBefore) * 1e6) / result.requests.total };
}

const runCli = (cli, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      ...options,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`berth ${args.join(' ')}: ${err}`)),
    );
  });

/** Runs the proxy section. */
export async function run(ctx) {
  const children = [];
  const start = (args, options = {}) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    children.push(child);
    return child;
  };
  try {
    const [backendPort, daemonPort, proxyPort] = await findFreePorts(3);
    // web.bench.localhost is the lease of `web`: leased first, then the backend binds it.
    const home = ctx.tempDir('proxy-home');
    const project = join(ctx.tempDir('proxy-project'), 'bench');
    mkdirSync(project);
    writeFileSync(
      join(project, 'berth.config.json'),
      JSON.stringify({ project: 'bench', services: { web: { preferred: [backendPort] } } }),
    );
    const env = { ...process.env, BERTH_HOME: home, NO_COLOR: '1' };
    const cli = distPath('cli/main.js');
    await runCli(cli, ['assign'], { cwd: project, env });
    const backend = start([PEERS, 'backend', String(backendPort)]);
    await waitForLine(backend, /port (\d+)/, 'backend');
    const daemon = start([cli, 'serve', '--port', String(daemonPort), '--proxy-port', String(proxyPort)], {
      cwd: project,
      env,
    });
    await waitForLine(daemon, /Names:/, 'berth serve');
    const ports = { berth: proxyPort, direct: backendPort };
    const pids = { berth: daemon.pid, direct: backend.pid };
    for (const peer of ['http-proxy-3', 'pipe']) {
      const child = start([PEERS, peer, String(backendPort)]);
      pids[peer] = child.pid;
      ports[peer] = Number((await waitForLine(child, /port (\d+)/, peer))[1]);
    }
    const hostOf = (t) => (t === 'berth' ? `web.bench.localhost:${proxyPort}` : `127.0.0.1:${ports[t]}`);
    const check = await sequential(ports.berth, hostOf('berth'), 1);
    if (!(check.length === 1)) throw new Error('berth proxy did not answer');

    const rps = Object.fromEntries(TARGETS.map((t) => [t, []]));
    const cpu = Object.fromEntries(TARGETS.map((t) => [t, []]));
    const http1 = Object.fromEntries(TARGETS.map((t) => [t, []]));
    const ws1 = Object.fromEntries(TARGETS.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of rotate(TARGETS, round)) {
        const measured = await load(ports[t], hostOf(t), pids[t]);
        rps[t].push(measured.rps);
        cpu[t].push(measured.cpu);
      }
      for (const t of rotate(TARGETS, round)) {
        const samples = await sequential(ports[t], hostOf(t), WARMUP + SEQUENTIAL);
        http1[t].push(median(samples.slice(WARMUP)));
      }
      for (const t of rotate(TARGETS, round)) {
        const url = t === 'berth' ? `ws://web.bench.localhost:${proxyPort}/` : `ws://127.0.0.1:${ports[t]}/`;
        const samples = await echoes(url, WARMUP + SEQUENTIAL);
        ws1[t].push(median(samples.slice(WARMUP)));
      }
      ctx.log(
        `proxy round ${round + 1}: ${TARGETS.map((t) => `${t} ${Math.round(rps[t][round])} req/s (${fmt(cpu[t][round])} us CPU each), ${fmt(http1[t][round])} us, ws ${fmt(ws1[t][round])} us`).join('; ')}`,
      );
    }

    // The daemon's memory with 100 websockets open through its proxy.
    const rssBefore = rssMb(daemon.pid);
    const sockets = [];
    for (let i = 0; i < SOCKETS; i++) {
      const ws = new WebSocket(`ws://web.bench.localhost:${proxyPort}/`, { lookup: loopback });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      sockets.push(ws);
    }
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once('message', resolve);
            ws.send('x');
          }),
      ),
    );
    const rssWith = rssMb(daemon.pid);
    for (const ws of sockets) ws.close();

    const m = (xs) => median(xs);
    const values = Object.fromEntries(
      TARGETS.map((t) => [t, { rps: m(rps[t]), cpu: m(cpu[t]), http: m(http1[t]), ws: m(ws1[t]) }]),
    );
    const added = (t, key) => values[t][key] - values.direct[key];
    const vsHp3 = values.berth.rps / values['http-proxy-3'].rps;
    const vsPipe = values.berth.rps / values.pipe.rps;
    const vsDirect = values.berth.rps / values.direct.rps;
    const perRound = (peer) => rps.berth.map((b, i) => fmt(b / rps[peer][i])).join(', ');
    const row = (t) => [
      t,
      fmt(values[t].rps),
      `${fmt(values.berth.rps / values[t].rps)}x`,
      fmt(values[t].cpu),
      fmt(values[t].http),
      t === 'direct' ? '' : fmt(added(t, 'http')),
      fmt(values[t].ws),
      t === 'direct' ? '' : fmt(added(t, 'ws')),
    ];
    return {
      id: 'proxy',
      title: '12. Proxy (names through berth serve)',
      tables: [
        {
          title: `Proxy: ${CONNECTIONS} keep-alive connections x ${DURATION_S} s per target (req/s), then ${SEQUENTIAL} sequential requests and websocket echoes (us), ${ROUNDS} interleaved rounds, medians`,
          headers: [
            'target',
            'req/s',
            'berth / target',
            'CPU per request (us)',
            'request (us)',
            'added (us)',
            'ws echo (us)',
            'ws added (us)',
          ],
          rows: TARGETS.map(row),
        },
        {
          title: `berth serve's RSS with ${SOCKETS} websockets open through its proxy`,
          headers: ['before (MB)', `with ${SOCKETS} websockets (MB)`],
          rows: [[fmt(rssBefore), fmt(rssWith)]],
        },
      ],
      notes: [
        'Every proxy runs in a process of its own in front of the same backend (a node:http server answering "ok" with a content length, and a ws echo); berth\'s proxy is the one in `berth serve`, routing by the Host web.bench.localhost.',
        'http-proxy-3 runs with a keep-alive agent, ws and xfwd on; the pipe is ~40 lines of node:http (bench/support/proxy-peers.mjs) with a keep-alive agent, no header rewriting and no X-Forwarded-*.',
        'CPU per request: user + system time of the serving process (the proxy; the server for direct) during its load run, over the requests it answered; less at the mercy of other work on the machine than req/s.',
        "autocannon, the proxies and the backend share this machine's two cores: one extra hop costs about half the throughput.",
      ],
      targets: [
        target('proxy req/s vs http-proxy-3', '>= 1.0x', vsHp3, 1.0, {
          compare: '>=',
          shown: `${fmt(vsHp3)}x (rounds ${perRound('http-proxy-3')}); CPU per request ${fmt(values.berth.cpu)} us vs ${fmt(values['http-proxy-3'].cpu)}`,
        }),
        target('proxy req/s vs own node:http pipe', '>= 0.9x', vsPipe, 0.9, {
          compare: '>=',
          shown: `${fmt(vsPipe)}x (rounds ${perRound('pipe')}); CPU per request ${fmt(values.berth.cpu)} us vs ${fmt(values.pipe.cpu)}; ${fmt(vsDirect)}x the server directly`,
        }),
        target('proxy added latency, HTTP, concurrency 1', '<= 300 us', added('berth', 'http'), 300, {
          shown: `${fmt(added('berth', 'http'))} us (http-proxy-3 ${fmt(added('http-proxy-3', 'http'))}, pipe ${fmt(added('pipe', 'http'))})`,
        }),
        target('proxy added latency, websocket echo', '<= 300 us', added('berth', 'ws'), 300, {
          shown: `${fmt(added('berth', 'ws'))} us (http-proxy-3 ${fmt(added('http-proxy-3', 'ws'))}, pipe ${fmt(added('pipe', 'ws'))})`,
        }),
      ],
      raw: { rounds: ROUNDS, rps, cpu, http: http1, ws: ws1, rssBefore, rssWith },
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  }
}
