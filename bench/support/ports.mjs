/**
 * Port facts for the harness, independent of berth's own code: which ports
 * are listening (read from /proc), whether a port is really free (bindable on
 * ::, 0.0.0.0, 127.0.0.1 and ::1), free ports and blocks in the bench's bands,
 * and a child process that holds ports the way a foreign server would.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Where the bench takes the ports it needs. Outside Linux's ephemeral range
 * (32768-60999: outgoing connections take those), outside berth's default
 * pool (20000-29999: other engineers' tests lease there) and outside the test
 * suite's band (10000-19999: test/helpers.ts `reserveBlock`), so the figures
 * do not depend on what else runs on this shared machine.
 */
export const BENCH_BANDS = [
  { min: 30000, max: 32767 },
  { min: 61000, max: 65535 },
];

/** The addresses a returned port must be bindable on to count as really free. */
export const CHECK_HOSTS = ['::', '0.0.0.0', '127.0.0.1', '::1'];

/** Ports with a listening TCP socket, from /proc/net/tcp and tcp6 (state 0A); empty off Linux. */
export function listeningPorts() {
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A') continue;
      ports.add(Number.parseInt(fields[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** Binds `host:port` exclusively and closes it: 'ok', or the error code. */
export function tryBind(port, host, ipv6Only = false) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error) => resolve(error.code ?? 'ERROR'));
    server.listen({ port, host, exclusive: true, ipv6Only }, () => server.close(() => resolve('ok')));
  });
}

/**
 * Whether `port` is bindable on every address of {@link CHECK_HOSTS}, one
 * after the other. An address this machine lacks (no IPv6) is skipped.
 * Returns `{ free: true }` or `{ free: false, host, code }`.
 */
export async function checkFree(port) {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return { free: false, host: null, code: 'NOT_A_PORT' };
  for (const host of CHECK_HOSTS) {
    const outcome = await tryBind(port, host);
    if (outcome === 'ok' || outcome === 'EADDRNOTAVAIL' || outcome === 'EAFNOSUPPORT') continue;
    return { free: false, host, code: outcome };
  }
  return { free: true };
}

function randomIn({ min, max }) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function randomBand(size) {
  const fitting = BENCH_BANDS.filter((b) => b.max - b.min + 1 >= size);
  const weights = fitting.map((b) => b.max - b.min + 2 - size);
  let pick = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < fitting.length; i++) {
    pick -= weights[i];
    if (pick <= 0) return fitting[i];
  }
  return fitting.at(-1);
}

/** `n` distinct ports from the bench bands, each confirmed free, none in `avoid`. */
export async function findFreePorts(n, avoid = new Set()) {
  const listening = listeningPorts();
  const out = new Set();
  let tries = 0;
  while (out.size < n) {
    if (++tries > n * 20) throw new Error(`could not find ${n} free ports in the bench bands`);
    const port = randomIn(randomBand(1));
    if (out.has(port) || avoid.has(port) || listening.has(port)) continue;
    if ((await checkFree(port)).free) out.add(port);
  }
  return [...out];
}

/** `size` consecutive free ports `{ min, max }` in the bench bands, none in `avoid`. */
export async function findFreeBlock(size, avoid = new Set()) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const band = randomBand(size);
    const min = randomIn({ min: band.min, max: band.max - size + 1 });
    const max = min + size - 1;
    const listening = listeningPorts();
    let ok = true;
    for (let port = min; port <= max && ok; port++) {
      ok = !avoid.has(port) && !listening.has(port) && (await tryBind(port, '::')) === 'ok';
    }
    if (ok) return { min, max };
  }
  throw new Error(`could not find ${size} consecutive free ports in the bench bands`);
}

/** The machine's first non-internal IPv4 address (else a non-link-local IPv6 one), or null. */
export function lanAddress() {
  const all = Object.values(networkInterfaces()).flat();
  const external = all.filter((a) => a && !a.internal);
  const v4 = external.find((a) => a.family === 'IPv4');
  if (v4) return v4.address;
  const v6 = external.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80'));
  return v6 ? v6.address : null;
}

/**
 * Starts a child process that listens on every `{ port, host, ipv6Only }` of
 * `binds` (a foreign server, from the library's point of view). Resolves once
 * it listens, with the binds that failed and `stop()`.
 */
export function startHolder(binds) {
  const child = spawn(process.execPath, [join(HERE, 'holder.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify(binds)}\n`);
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`port holder exited early (code ${code})`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (!out.endsWith('\n')) return;
      child.removeAllListeners('exit');
      const { failed } = JSON.parse(out);
      resolve({
        pid: child.pid,
        failed,
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.stdin.end();
          }),
      });
    });
  });
}
