/**
 * The proxy's pipes: a request forwarded to a lease's port on loopback and
 * its response streamed back (bodies never buffered, back-pressure both
 * ways), and an upgraded connection (websockets, Vite's HMR) tunnelled byte
 * for byte. The only address ever dialled is loopback: 127.0.0.1, then ::1
 * when nothing listens there (a dev server bound to `localhost` may take ::1 only).
 */
import { Agent, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type LookupFunction, type Socket } from 'node:net';

/** The host name the pipes dial; {@link loopbackLookup} resolves it, and nothing else. */
const LOOPBACK = 'loopback.berth';

const LOOPBACK_ADDRESSES = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** Resolves every name to loopback, IPv4 first: the pipes can reach nothing else. */
export const loopbackLookup: LookupFunction = (_host, options, callback) => {
  const cb = callback as unknown as (
    error: null,
    address: string | typeof LOOPBACK_ADDRESSES,
    family?: number,
  ) => void;
  if ((options as { all?: boolean }).all) cb(null, LOOPBACK_ADDRESSES);
  else cb(null, '127.0.0.1', 4);
};

/** How long one loopback address may take to accept before the next is tried, in ms (Node's happy eyeballs). */
const ATTEMPT_TIMEOUT_MS = 250;

/** Connection options every pipe uses: loopback only, both families. */
const DIAL = {
  host: LOOPBACK,
  lookup: loopbackLookup,
  autoSelectFamily: true,
  autoSelectFamilyAttemptTimeout: ATTEMPT_TIMEOUT_MS,
} as const;

/** Headers that describe one connection, not the message (RFC 9110 7.6.1), and the proxy's own. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const FORWARDED: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
]);

/** What the X-Forwarded-* headers say about the client. */
export interface ForwardedFor {
  /** The client's address. */
  for: string;
  /** The Host header as sent. */
  host: string;
  /** `http`, or `ws` for an upgrade. */
  proto: string;
  /** The port the client connected to. */
  port: number;
}

/** A header list without hop-by-hop headers (and those `Connection` names); an upgrade keeps `Connection` and `Upgrade`. */
function endToEnd(raw: readonly string[], upgrade: boolean): string[] {
  // Headers a Connection header names, beyond the hop-by-hop ones (rare: `keep-alive` and `close` are the usual values).
  let named: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const header = token.trim().toLowerCase();
      if (header === 'close' || HOP_BY_HOP.has(header)) continue;
      named ??= new Set();
      named.add(header);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named?.has(name)) {
      if (!upgrade || (name !== 'connection' && name !== 'upgrade')) continue;
    }
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/**
 * The request's headers for the upstream: end-to-end headers as sent (the Host
 * included), then X-Forwarded-For, -Host, -Proto and -Port, each appended to
 * what an earlier proxy set.
 *
 * @example
 * requestHeaders(['Host', 'web.shop.localhost:4939'], { for: '127.0.0.1', host: 'web.shop.localhost:4939', proto: 'http', port: 4939 }, false)
 */
export function requestHeaders(raw: readonly string[], xf: ForwardedFor, upgrade: boolean): string[] {
  const earlier = new Map<string, string>();
  const out: string[] = [];
  const kept = endToEnd(raw, upgrade);
  for (let i = 0; i < kept.length; i += 2) {
    const name = kept[i]!.toLowerCase();
    if (FORWARDED.has(name)) {
      const before = earlier.get(name);
      earlier.set(name, before === undefined ? kept[i + 1]! : `${before}, ${kept[i + 1]}`);
    } else {
      out.push(kept[i]!, kept[i + 1]!);
    }
  }
  const add = (name: string, value: string) => {
    const before = earlier.get(name);
    out.push(name, before === undefined ? value : `${before}, ${value}`);
  };
  add('x-forwarded-for', xf.for);
  add('x-forwarded-host', xf.host);
  add('x-forwarded-proto', xf.proto);
  add('x-forwarded-port', String(xf.port));
  return out;
}

/** The client's address as X-Forwarded-For writes it (`::ffff:127.0.0.1` is `127.0.0.1`). */
export function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Why a dial failed, in words for the 502 page. */
export function dialFailure(error: unknown): string {
  const errors = error instanceof AggregateError ? error.errors : [error];
  const codes = new Set(errors.map((e) => (e as NodeJS.ErrnoException).code ?? String(e)));
  if (codes.size === 1 && codes.has('ECONNREFUSED')) return 'nothing listens there (connection refused)';
  return `the connection failed (${[...codes].join(', ')})`;
}

/** What a forwarded request reports back when it could not reach the service. */
export type OnUnreachable = (reason: string) => void;

/** The upstream connections, kept alive between requests. */
export function createUpstreamAgent(): Agent {
  return new Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Streams an answer into the client's response with back-pressure. By hand rather
 * than pipe() or pipeline() (whose abort signals cost a third of a small request's
 * time): four listeners. An answer cut short (the service died mid-body) cuts the
 * client's short too.
 */
function relay(answer: IncomingMessage, res: ServerResponse): void {
  answer.on('data', (chunk: Buffer) => {
    if (!res.write(chunk)) {
      answer.pause();
      res.once('drain', () => answer.resume());
    }
  });
  answer.once('end', () => res.end());
  answer.once('error', () => res.destroy());
}

/**
 * Forwards `req` to `port` on loopback and streams the answer into `res`.
 * Nothing is buffered: a request body flows as it arrives, a response (server-sent
 * events, a long poll, 50 MB) as the service writes it. `unreachable` is called,
 * before anything was sent to the client, when the service cannot be reached.
 */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  port: number,
  xf: ForwardedFor,
  agent: Agent,
  unreachable: OnUnreachable,
): void {
  const headers = requestHeaders(req.rawHeaders, xf, false);
  const bodyless = !hasBody(req);
  const send = (retry: boolean) => {
    const upstream = request({
      ...DIAL,
      port,
      method: req.method,
      path: req.url,
      headers,
      agent,
      setHost: false,
    });
    let answered = false;
    upstream.on('response', (answer) => {
      answered = true;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders, false));
      // A streamed answer (no length: server-sent events, a long poll) shows its headers at once.
      if (answer.headers['content-length'] === undefined) res.flushHeaders();
      relay(answer, res);
    });
    upstream.on('error', (error) => {
      if (answered || res.headersSent) {
        res.destroy();
        return;
      }
      // A kept-alive connection the service closed as we reused it: once more on a new one.
      if (retry && upstream.reusedSocket && bodyless) {
        send(false);
        return;
      }
      unreachable(dialFailure(error));
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (bodyless) upstream.end();
    else {
      req.pipe(upstream);
      req.once('error', () => upstream.destroy());
    }
  };
  send(true);
}

/**
 * Tunnels an upgrade (`Connection: Upgrade`) to `port` on loopback: the request
 * head as sent (plus X-Forwarded-*), the bytes already read, then both
 * directions piped until either side closes. The service's answer (101 or a
 * refusal) goes back untouched. `unreachable` is called when the dial fails.
 */
export function tunnel(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  port: number,
  xf: ForwardedFor,
  unreachable: OnUnreachable,
): void {
  const headers = requestHeaders(req.rawHeaders, xf, true);
  let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
  lines += '\r\n';
  const upstream = connect({ ...DIAL, port });
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    upstream.setNoDelay(true);
    socket.setNoDelay(true);
    // Header bytes as Node read them (latin1), so any byte the client sent goes out unchanged.
    upstream.write(lines, 'latin1');
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  upstream.on('error', (error) => {
    if (connected) socket.destroy();
    else unreachable(dialFailure(error));
  });
  socket.on('error', () => upstream.destroy());
  socket.once('close', () => upstream.destroy());
  upstream.once('close', () => socket.destroy());
}
