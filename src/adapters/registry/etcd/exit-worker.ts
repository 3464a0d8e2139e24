/**
 * The worker thread that revokes a process's etcd leases while the process exits
 * (exit-release.ts). A process's `exit` handlers are synchronous and etcd's client is
 * not, so the exiting thread starts this worker and blocks in `Atomics.wait` until it
 * reports. Importing etcd3 takes ~0.5 s of CPU, so this worker speaks gRPC itself over
 * node:http2: two unary calls (Auth/Authenticate when a user is set, Lease/LeaseRevoke)
 * whose protobuf messages are a few fields each. Members are tried in turn until one
 * answers; a lease etcd no longer knows (NOT_FOUND) counts as revoked.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { workerData } from 'node:worker_threads';

/** What the exiting thread sends (see exit-release.ts). */
export interface ExitWorkerData {
  /** 0 while the worker runs; then 1 every lease revoked, 2 not all. */
  flag: SharedArrayBuffer;
  endpoints: string[];
  leaseIds: string[];
  /** Epoch ms past which the worker stops trying. */
  deadline: number;
  tls: { ca?: string; cert?: string; key?: string } | null;
  auth: { user: string; password: string } | null;
}

/** gRPC status codes that matter here. */
const GRPC_OK = 0;
const GRPC_NOT_FOUND = 5;

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

/** A length-delimited protobuf field. */
function bytesField(field: number, value: string): Buffer {
  const data = Buffer.from(value);
  return Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(data.length)), data]);
}

/** The string in field `field` of a protobuf message (top level), or `null`. */
function readStringField(message: Buffer, field: number): string | null {
  let i = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = message[i++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < message.length) {
    const tag = Number(readVarint());
    const wire = tag & 7;
    if (wire === 0) readVarint();
    else if (wire === 2) {
      const length = Number(readVarint());
      if (tag >> 3 === field) return message.subarray(i, i + length).toString();
      i += length;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return null;
  }
  return null;
}

/** One unary gRPC call; resolves with the status and the response message. */
function unary(
  session: http2.ClientHttp2Session,
  path: string,
  message: Buffer,
  metadata: Record<string, string>,
  deadline: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(message.length, 1);
    const request = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...metadata,
    });
    const timer = setTimeout(
      () => request.close(http2.constants.NGHTTP2_CANCEL),
      Math.max(1, deadline - Date.now()),
    );
    const chunks: Buffer[] = [];
    let status: number | null = null;
    request.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
    });
    request.on('trailers', (trailers) => {
      status = Number(trailers['grpc-status']);
    });
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.on('close', () => {
      clearTimeout(timer);
      if (status === null) reject(new Error(`no answer to ${path}`));
      else resolve({ status, body: Buffer.concat(chunks).subarray(5) });
    });
    request.end(Buffer.concat([frame, message]));
  });
}

/** Revokes every lease through one member; true when all are gone. */
async function revokeThrough(endpoint: string, data: ExitWorkerData): Promise<boolean> {
  const file = (path: string | undefined) => (path ? readFileSync(path) : undefined);
  const session = http2.connect(`${data.tls ? 'https' : 'http'}://${endpoint}`, {
    ...(data.tls ? { ca: file(data.tls.ca), cert: file(data.tls.cert), key: file(data.tls.key) } : {}),
  });
  session.on('error', () => {});
  try {
    const metadata: Record<string, string> = {};
    if (data.auth) {
      const message = Buffer.concat([bytesField(1, data.auth.user), bytesField(2, data.auth.password)]);
      const answer = await unary(session, '/etcdserverpb.Auth/Authenticate', message, {}, data.deadline);
      const token = answer.status === GRPC_OK ? readStringField(answer.body, 2) : null;
      if (token === null) return false;
      metadata.token = token;
    }
    const results = await Promise.all(
      data.leaseIds.map((id) =>
        unary(
          session,
          '/etcdserverpb.Lease/LeaseRevoke',
          Buffer.concat([varint(8n), varint(BigInt(id))]),
          metadata,
          data.deadline,
        ),
      ),
    );
    return results.every((r) => r.status === GRPC_OK || r.status === GRPC_NOT_FOUND);
  } finally {
    session.destroy();
  }
}

async function main(data: ExitWorkerData): Promise<void> {
  const flag = new Int32Array(data.flag);
  let done = false;
  for (const endpoint of data.endpoints) {
    if (Date.now() >= data.deadline) break;
    try {
      done = await revokeThrough(endpoint, data);
    } catch {
      done = false;
    }
    if (done) break;
  }
  Atomics.store(flag, 0, done ? 1 : 2);
  Atomics.notify(flag, 0);
}

if (workerData) void main(workerData as ExitWorkerData);
