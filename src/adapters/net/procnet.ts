/**
 * Listening TCP sockets from Linux's /proc/net/tcp and /proc/net/tcp6: one
 * read tells which ports of a whole range are busy, instead of one bind each.
 *
 * Row format (net/ipv4/tcp_ipv4.c `get_tcp4_sock`, net/ipv6/tcp_ipv6.c `get_tcp6_sock`):
 * `   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 12345 ...`
 * sl, local address:port, remote address:port, state, tx:rx queue, timer,
 * retransmits, uid, timeout, inode. Addresses are 32-bit words printed with
 * `%08X` in host byte order; ports are printed after `ntohs`, so they read
 * big-endian.
 *
 * What reading costs (measured on a 2-core, 24 GB VM, Linux 6.18): the kernel
 * lists the listening hash first (about 60 us per 4 KB read), then walks every
 * bucket of the established-connections hash, which is sized by RAM: about
 * 2 ms per file even when it is empty, and `readFileSync` pays it twice (once
 * for the data, once more for the read that returns 0). The readers here stop
 * at the first row that is not LISTEN and at the first short read, so each
 * file costs one walk; {@link readListenersAsync} does the walk on the thread
 * pool so the event loop never waits for it.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import type { FreshListeners, Listener } from '../../core/facts.js';
import { PROC_ROOT } from '../procfs.js';
import { ipv4Text, ipv6Text } from './ip-text.js';

// node:fs/promises loads at the first asynchronous read (~1.8 ms of every CLI start that
// imports this module measured, `berth get` among them, which may read nothing).
const require = createRequire(import.meta.url);
let fsPromises: typeof import('node:fs/promises') | undefined;
const open: typeof import('node:fs/promises')['open'] = (...args) => {
  fsPromises ??= require('node:fs/promises') as typeof import('node:fs/promises');
  return fsPromises.open(...args);
};

/** Byte order of the machine that wrote the table. */
export type Endianness = 'BE' | 'LE';

/** Paths of the kernel's TCP tables. */
export interface ProcNetFiles {
  /** IPv4 table, normally `/proc/net/tcp`. */
  tcp: string;
  /** IPv6 table, normally `/proc/net/tcp6`; absent when IPv6 is disabled. */
  tcp6: string;
}

/** The kernel's tables on Linux. */
export const PROC_NET_FILES: ProcNetFiles | null =
  PROC_ROOT === null ? null : { tcp: `${PROC_ROOT}/net/tcp`, tcp6: `${PROC_ROOT}/net/tcp6` };

/** Decided once: the kernel writes addresses in the byte order of the machine we run on. */
const HOST_ENDIANNESS: Endianness = endianness();

/** seq_file hands out at most one page per read(); 64 KB covers 64 KB-page kernels too. */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * A read shorter than this ended because the table did: seq_file fills its
 * page-sized buffer (at least 4096 bytes) while rows remain, and no row is
 * longer than about 250 bytes.
 */
const SHORT_READ_BYTES = 4096 - 512;

const SPACE = 0x20;
const COLON = 0x3a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const UPPER_A = 0x41;
const UPPER_F = 0x46;
const LOWER_A = 0x61;
const LOWER_F = 0x66;

/** A data row in a state other than LISTEN: in the kernel's order, the listening part is over. */
const OTHER_STATE = 'other-state';

/**
 * Parses the text of /proc/net/tcp (`family` 4) or /proc/net/tcp6 (`family` 6)
 * and returns the sockets in state `0A` (LISTEN). Headers and malformed rows
 * are ignored. Pure: no I/O.
 *
 * Each row is checked at fixed offsets from the start of its local address
 * (the kernel's `%08X`/`%04X`/`%02X` formats fix the widths), so rows in
 * other states cost a few character reads and no allocation.
 *
 * @param byteOrder byte order of the machine that wrote `text`; defaults to this machine's.
 * @example
 * parseProcNetTcp('   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 4242', 4, 'LE');
 * // [{ address: '127.0.0.1', port: 3000, inode: 4242, uid: 1000 }]
 */
export function parseProcNetTcp(
  text: string,
  family: 4 | 6,
  byteOrder: Endianness = HOST_ENDIANNESS,
): Listener[] {
  const listeners: Listener[] = [];
  scanRows(text, family, byteOrder, listeners, false);
  return listeners;
}

/**
 * Reads both TCP tables synchronously. Returns `null` when the IPv4 table is
 * unreadable (not Linux, or /proc hidden): callers then fall back to bind
 * probes. A missing IPv6 table means IPv6 is disabled, which is fine. Blocks
 * for about one established-hash walk per file (see the module comment);
 * prefer {@link readListenersAsync} off the hot path.
 *
 * @example
 * const busy = new Set(readListeners()?.map((listener) => listener.port));
 */
export function readListeners(files: ProcNetFiles | null = PROC_NET_FILES): Listener[] | null {
  if (files === null) return null;
  let tcp: Listener[];
  try {
    tcp = readTableSync(files.tcp, 4);
  } catch {
    return null;
  }
  try {
    return tcp.concat(readTableSync(files.tcp6, 6));
  } catch (error) {
    return ipv6Absent(error) ? tcp : null;
  }
}

/**
 * {@link readListeners} with the reads on libuv's thread pool: the kernel's
 * walk of its connection hash never blocks the event loop.
 *
 * @example
 * const listeners = await readListenersAsync();
 */
export async function readListenersAsync(
  files: ProcNetFiles | null = PROC_NET_FILES,
): Promise<Listener[] | null> {
  if (files === null) return null;
  // One file after the other: the kernel's walk keeps a core busy, and on a
  // 2-core machine two at once would leave none for the event loop.
  let tcp: Listener[];
  try {
    tcp = await readTable(files.tcp, 4);
  } catch {
    return null;
  }
  try {
    return tcp.concat(await readTable(files.tcp6, 6));
  } catch (error) {
    return ipv6Absent(error) ? tcp : null;
  }
}

/**
 * A missing tcp6 table means IPv6 is off. Any other failure means IPv6
 * listeners exist but are hidden from us, and half a table would read as
 * "free": report no table at all.
 */
function ipv6Absent(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

let syncBuffer: Buffer | undefined;

function readTableSync(path: string, family: 4 | 6): Listener[] {
  syncBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const fd = openSync(path, 'r');
  try {
    const scan = new TableScan(family);
    for (;;) {
      const bytes = readSync(fd, syncBuffer, 0, syncBuffer.length, null);
      if (scan.feed(syncBuffer.toString('latin1', 0, bytes), bytes)) return scan.listeners;
    }
  } finally {
    closeSync(fd);
  }
}

async function readTable(path: string, family: 4 | 6): Promise<Listener[]> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const scan = new TableScan(family);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (scan.feed(buffer.toString('latin1', 0, bytesRead), bytesRead)) return scan.listeners;
    }
  } finally {
    await handle.close();
  }
}

/**
 * One table read chunk by chunk. It trusts the kernel's order (all listening
 * sockets first, connections after; since Linux 4.4 SYN_RECV requests sit
 * with the connections) and stops at the first row in another state: reading
 * on would only make the kernel walk its connection hash again. A listener it
 * ever missed would still be caught by the bind probe.
 */
class TableScan {
  readonly listeners: Listener[] = [];
  private carry = '';

  constructor(private readonly family: 4 | 6) {}

  /** Takes the next read (`bytes` long); true when the table needs no more reading. */
  feed(chunk: string, bytes: number): boolean {
    const text = this.carry + chunk;
    const ended = bytes < SHORT_READ_BYTES;
    // seq_file hands out whole rows, but a partial last line must wait for the rest anyway.
    const cut = ended ? text.length : text.lastIndexOf('\n') + 1;
    this.carry = text.slice(cut);
    const listeningPartGoesOn = scanRows(
      text.slice(0, cut),
      this.family,
      HOST_ENDIANNESS,
      this.listeners,
      true,
    );
    return ended || !listeningPartGoesOn;
  }
}

/**
 * Pushes the LISTEN rows of `text` onto `out`. With `untilOtherState`, stops
 * at the first well-formed row in another state and returns false.
 */
function scanRows(
  text: string,
  family: 4 | 6,
  byteOrder: Endianness,
  out: Listener[],
  untilOtherState: boolean,
): boolean {
  const hexLength = family === 4 ? 8 : 32;
  const length = text.length;
  let start = 0;
  while (start < length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    const row = parseRow(text, start, end, hexLength, byteOrder);
    if (row === OTHER_STATE) {
      if (untilOtherState) return false;
    } else if (row !== null) {
      out.push(row);
    }
    start = end + 1;
  }
  return true;
}

/** One row between `start` and `end`: a listener, a row in another state, or `null` (header, damage). */
function parseRow(
  text: string,
  start: number,
  end: number,
  hexLength: number,
  byteOrder: Endianness,
): Listener | typeof OTHER_STATE | null {
  let i = start;
  while (i < end && text.charCodeAt(i) === SPACE) i++;
  const slStart = i;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  if (i === slStart || text.charCodeAt(i) !== COLON) return null;
  i++;
  while (i < end && text.charCodeAt(i) === SPACE) i++;

  const local = i;
  const endpointLength = hexLength + 5; // address ':' port
  const state = local + 2 * endpointLength + 2;
  if (
    state + 2 > end ||
    text.charCodeAt(local + hexLength) !== COLON ||
    text.charCodeAt(local + endpointLength) !== SPACE ||
    text.charCodeAt(state - 1) !== SPACE ||
    (state + 2 < end && text.charCodeAt(state + 2) !== SPACE)
  ) {
    return null;
  }
  if (text.charCodeAt(state) !== DIGIT_0 || text.charCodeAt(state + 1) !== UPPER_A) {
    return hexValue(text, state, 2) === -1 ? null : OTHER_STATE;
  }

  const port = hexValue(text, local + hexLength + 1, 4);
  const address = addressText(text, local, hexLength, byteOrder);
  if (port === -1 || address === null) return null;

  // After the state: tx:rx, timer, retransmits, uid, timeout, inode. A damaged
  // tail still leaves a listener worth reporting, with owner and inode unknown.
  let at = skipField(text, skipField(text, skipField(text, state + 2, end), end), end);
  const uidEnd = skipField(text, at, end);
  const uid = decimalValue(text, skipSpaces(text, at, end), uidEnd);
  at = skipField(text, uidEnd, end);
  const inode = decimalValue(text, skipSpaces(text, at, end), skipField(text, at, end));
  return { address, port, inode: inode === -1 ? 0 : inode, uid };
}

/** Listeners share few addresses (wildcards, loopback): decode each once. */
const addressCache = new Map<string, string>();
const ADDRESS_CACHE_LIMIT = 1024;

/** The text of the address printed as hex words at `at`, or `null` when a digit is not hex. */
function addressText(text: string, at: number, hexLength: number, byteOrder: Endianness): string | null {
  const key = byteOrder + text.slice(at, at + hexLength);
  const cached = addressCache.get(key);
  if (cached !== undefined) return cached;
  const bytes: number[] = [];
  for (let offset = 0; offset < hexLength; offset += 8) {
    const word = hexValue(text, at + offset, 8);
    if (word === -1) return null;
    // In memory a little-endian word starts with its low byte.
    if (byteOrder === 'LE') bytes.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24);
    else bytes.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
  }
  const address = hexLength === 8 ? ipv4Text(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) : ipv6Text(bytes);
  if (addressCache.size >= ADDRESS_CACHE_LIMIT) addressCache.clear();
  addressCache.set(key, address);
  return address;
}

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
}

/** Value of `digits` hex digits at `at`, or -1 when one of them is not hex. */
function hexValue(text: string, at: number, digits: number): number {
  let value = 0;
  for (let i = at; i < at + digits; i++) {
    const code = text.charCodeAt(i);
    let digit: number;
    if (code >= DIGIT_0 && code <= DIGIT_9) digit = code - DIGIT_0;
    else if (code >= UPPER_A && code <= UPPER_F) digit = code - UPPER_A + 10;
    else if (code >= LOWER_A && code <= LOWER_F) digit = code - LOWER_A + 10;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Value of the decimal digits in [from, to), or -1 when there are none or one is not a digit. */
function decimalValue(text: string, from: number, to: number): number {
  if (from >= to) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - DIGIT_0);
  }
  return value;
}

function skipSpaces(text: string, from: number, end: number): number {
  let i = from;
  while (i < end && text.charCodeAt(i) === SPACE) i++;
  return i;
}

/** The offset just after the space-separated field that starts at or after `from`. */
function skipField(text: string, from: number, end: number): number {
  const next = text.indexOf(' ', skipSpaces(text, from, end));
  return next === -1 || next > end ? end : next;
}

/**
 * The {@link FreshListeners} the composition runs on: {@link readListenersAsync}.
 *
 * @example
 * const listeners = await createFreshListeners().read();
 */
export function createFreshListeners(): FreshListeners {
  return { read: () => readListenersAsync() };
}
