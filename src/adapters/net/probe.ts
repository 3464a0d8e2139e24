/**
 * Bind probes: the one honest answer to "is this port free right now?".
 *
 * On Linux one dual-stack bind on `::` collides with a listener on any
 * address, IPv4 or IPv6, wildcard, loopback or interface, v6-only or not
 * (checked by probe.test.ts with real sockets), so one bind answers. BSD,
 * macOS and Windows let a wildcard bind share a port with a specific one, so
 * there every address that matters gets its own bind. Only EADDRINUSE and
 * EACCES mean "busy"; anything else is an error, never "busy".
 */
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';

// node:net (and the stream modules under it) loads at the first probe, not at import:
// `berth get` for a service that keeps its lease never probes.
const require = createRequire(import.meta.url);
let netModule: typeof import('node:net') | undefined;
const net = () => {
  netModule ??= require('node:net') as typeof import('node:net');
  return netModule;
};

/** Loads node:net now (~6 ms here), for callers that will probe soon: the library entry does at import. */
export function loadNet(): void {
  net();
}

import type { Probe, ProbeResult } from '../../core/facts.js';
import { BerthError } from '../../errors.js';
import { PROBE_TIMEOUT_MS, probeWithin, withProbeTimeout } from './probe-timeout.js';

export { PROBE_TIMEOUT_MS };

/**
 * `dual-stack`: one bind on `::` accepting IPv4 too (IPv4 `0.0.0.0` when IPv6 is off).
 * `each-address`: binds `::`, `0.0.0.0`, `127.0.0.1`, `::1` and every interface address in turn.
 */
export type ProbeMode = 'dual-stack' | 'each-address';

/** Options of {@link createProbe}. */
export interface ProbeOptions {
  /** Bound on a probe when `check` gets none, in milliseconds. Default {@link PROBE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** How to probe; default `dual-stack` on Linux, `each-address` elsewhere. */
  strategy?: ProbeMode;
}

/** Errors that mean "someone has this port" (EACCES: privileged, or reserved by Windows). */
const BUSY_CODES = new Set(['EADDRINUSE', 'EACCES']);
/**
 * Errors of an address family or address this machine lacks: skip that
 * address. libuv reports EAFNOSUPPORT as EINVAL on macOS and the BSDs.
 */
const ABSENT_CODES = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

/**
 * libuv sets IPV6_V6ONLY explicitly on every IPv6 socket (off unless asked),
 * so `net.ipv6.bindv6only` does not turn the dual-stack bind into an
 * IPv6-only one.
 */
const DEFAULT_STRATEGY: ProbeMode = process.platform === 'linux' ? 'dual-stack' : 'each-address';

/**
 * A {@link Probe} that binds each checked port and releases it at once.
 *
 * @example
 * const probe = createProbe();
 * if ((await probe.check(3000, 2000)) === 'free') server.listen(3000);
 */
export function createProbe(options: ProbeOptions = {}): Probe {
  const strategy = options.strategy ?? DEFAULT_STRATEGY;
  const defaultTimeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  return {
    // Promise.resolve returns a promise as it is: only an answer given at once is wrapped.
    check: (port, timeoutMs = defaultTimeoutMs) =>
      Promise.resolve(probeWithin(port, timeoutMs, () => probeWith(strategy, port))),
    checkNow: (port) => probeWithin(port, defaultTimeoutMs, () => probeWith(strategy, port)),
  };
}

/**
 * Whether `port` is free on every address of this machine, checked with real
 * binds (see the module comment). `busy` for EADDRINUSE and EACCES; rejects
 * with `E_PROBE` for any other failure and `E_TIMEOUT` after `timeoutMs`.
 *
 * @example
 * await probePort(3000); // 'free' | 'busy'
 */
export function probePort(port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  defaultProbe ??= createProbe();
  return defaultProbe.check(port, timeoutMs);
}

/** The probe {@link probePort} uses: this platform's strategy. */
let defaultProbe: Probe | undefined;

/**
 * Whether `port` is free on one address of this machine (`berth check`).
 * `host` must be an IP address, optionally with a zone (`fe80::1%eth0`); a
 * name, or an address this machine does not have, rejects with `E_PROBE`.
 * `::` is probed dual-stack, so it also covers IPv4.
 *
 * @example
 * await probeHost(3000, '::1'); // free even while a server listens on 127.0.0.1:3000
 */
export function probeHost(port: number, host: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  return withProbeTimeout(port, timeoutMs, async () => {
    // A name would go through getaddrinfo on the thread pool, maybe for seconds, and mean several addresses.
    if (net().isIP(host) === 0) {
      throw new BerthError(
        'E_PROBE',
        `cannot probe port ${port} on ${JSON.stringify(host)}: not an IP address. Pass an address such as 127.0.0.1, ::1 or 0.0.0.0.`,
        { data: { port, host } },
      );
    }
    const outcome = await bindOnce(port, host);
    if (outcome === 'free' || outcome === 'busy') return outcome;
    throw probeError(port, host, outcome);
  });
}

function probeWith(strategy: ProbeMode, port: number): ProbeResult | Promise<ProbeResult> {
  if (strategy === 'dual-stack') {
    // No host: Node binds `::` accepting IPv4 and falls back to 0.0.0.0 by
    // itself when IPv6 is unavailable, without a DNS lookup on the way. A free
    // port answers at once; a `then`, not an async function, for the rest (#22).
    const outcome = bindNow(port, null);
    if (outcome === 'free') return outcome;
    return outcome.then((late) => {
      if (late === 'free' || late === 'busy') return late;
      // Node reports the address it tried last (`::`, or 0.0.0.0 after falling back).
      throw probeError(port, (late as { address?: string }).address ?? '::', late);
    });
  }
  return probeEachAddress(port);
}

/** The `each-address` strategy: a bind on each address in turn, until one is busy. */
async function probeEachAddress(port: number): Promise<ProbeResult> {
  for (const { host, optional } of addressesToProbe()) {
    const outcome = await bindOnce(port, host);
    if (outcome === 'busy') return 'busy';
    if (outcome === 'free') continue;
    const code = outcome.code ?? '';
    // An IPv6 address without IPv6, or an interface address that just went away.
    if (optional && ABSENT_CODES.has(code)) continue;
    throw probeError(port, host, outcome);
  }
  return 'free';
}

/** The addresses the `each-address` strategy binds, in order; `optional` ones may be absent. */
function addressesToProbe(): { host: string; optional: boolean }[] {
  const hosts = [
    { host: '::', optional: true },
    { host: '0.0.0.0', optional: false },
    { host: '127.0.0.1', optional: false },
    { host: '::1', optional: true },
  ];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      // Link-local IPv6 needs its zone: an interface name on Unix, an index on Windows.
      const zone = process.platform === 'win32' ? String(address.scopeid ?? 0) : name;
      const host =
        address.family === 'IPv6' && address.scopeid ? `${address.address}%${zone}` : address.address;
      hosts.push({ host, optional: true });
    }
  }
  return hosts;
}

/**
 * Binds `host:port` exclusively and closes at once. `free`, `busy`, or the
 * error of any other failure. `host` `null` binds Node's default (`::`
 * dual-stack, else 0.0.0.0).
 */
function bindOnce(port: number, host: string | null): Promise<ProbeResult | NodeJS.ErrnoException> {
  const outcome = bindNow(port, host);
  return outcome === 'free' ? Promise.resolve(outcome) : outcome;
}

/**
 * {@link bindOnce}, answered at once for a port that is free: Node binds and listens
 * inside `listen()` and only reports it on `process.nextTick`, so `server.listening`
 * already tells (a getPort call skipped the event, the timeout's watch and three
 * promises: #22). A failure, or a Node that binds later, answers through the events.
 * close() closes the socket synchronously (libuv closes the fd in uv_close); only its
 * callback waits for the next turn of the loop, so the port is released on return.
 */
function bindNow(port: number, host: string | null): 'free' | Promise<ProbeResult | NodeJS.ErrnoException> {
  const server = net().createServer();
  server.unref();
  let settle: (outcome: ProbeResult | NodeJS.ErrnoException) => void = () => {};
  server.once('error', (error: NodeJS.ErrnoException) => {
    settle(BUSY_CODES.has(error.code ?? '') ? 'busy' : error);
  });
  // Not emitted once closed here: Node drops the event of a server without a handle.
  server.once('listening', () => {
    server.close();
    settle('free');
  });
  try {
    // exclusive: never share a handle through the cluster primary.
    if (host === null) server.listen({ port, exclusive: true });
    else server.listen({ port, host, exclusive: true, ipv6Only: false });
  } catch (error) {
    return Promise.resolve(error as NodeJS.ErrnoException);
  }
  if (server.listening) {
    server.close();
    return 'free';
  }
  return new Promise((resolve) => {
    settle = resolve;
  });
}

/** The `E_PROBE` error for a bind that failed for a reason other than "busy". */
function probeError(port: number, host: string, error: NodeJS.ErrnoException): BerthError {
  const code = error.code ?? 'unknown error';
  return new BerthError(
    'E_PROBE',
    `probe of port ${port} on ${host} failed with ${code}. ${fixFor(code, host)}`,
    {
      data: { port, host, code },
      cause: error,
    },
  );
}

function fixFor(code: string, host: string): string {
  switch (code) {
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine: probe 127.0.0.1, ::1 or an address of one of its interfaces.`;
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return `This machine has no ${host.includes(':') ? 'IPv6' : 'IPv4'}: probe an address of the other family.`;
    case 'EINVAL':
      return `Check the address ${host} (a link-local IPv6 address needs its zone, as in fe80::1%eth0).`;
    case 'EMFILE':
    case 'ENFILE':
      return 'Too many open files: close some, or raise the limit (ulimit -n).';
    case 'EPERM':
      return 'A security policy (seccomp, SELinux, a sandbox) forbids opening sockets: run berth where it may listen.';
    default:
      return 'Check the address, and that this process may open listening sockets.';
  }
}
