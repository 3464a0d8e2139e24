/**
 * A normal exit releases on etcd too: when a process that holds an etcd lease ends by
 * returning, by `process.exit()`, or by SIGINT / SIGTERM / SIGHUP, its etcd lease is
 * revoked, and with it every key attached to it: the leases the process owns, gone for
 * every host at once instead of when the lease's TTL runs out.
 *
 * Exit handlers are synchronous and the etcd client is not. The exiting thread starts a
 * worker thread (exit-worker.ts: gRPC over node:http2, no etcd3 import) and blocks in
 * `Atomics.wait` until it reports or {@link EXIT_REVOKE_MS} pass. A signal is handled
 * the same way, only when no listener but berth's is on it: then the process dies by the
 * signal afterwards (signal-hooks.ts), as it would have without berth. A process with a
 * listener of its own does what that listener decides, and releases when it exits.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isMainThread, Worker } from 'node:worker_threads';
import { berthListener, ENDING_SIGNALS, foreignListeners, reraise } from '../../process/signal-hooks.js';
import type { ExitWorkerData } from './exit-worker.js';

/**
 * Longest a normal exit waits for etcd to revoke the process's lease, in milliseconds
 * (starting the worker takes ~30 ms, the revoke one round trip). Past it (etcd
 * unreachable, an election) the exit goes on and the lease expires by its TTL.
 */
export const EXIT_REVOKE_MS = 1_000;

/** One etcd lease to revoke at exit, and how to reach its cluster. */
export interface HeldLease {
  endpoints: readonly string[];
  id: string;
  tls: ExitWorkerData['tls'];
  auth: ExitWorkerData['auth'];
}

const held = new Set<HeldLease>();
let installed = false;

const onExit = () => revokeNow();

const onSignal = berthListener((signal: NodeJS.Signals) => {
  // The user's own listener decides what a signal does; the exit hook releases if it exits.
  if (foreignListeners(signal) > 0) return;
  revokeNow();
  uninstall();
  reraise(signal);
});

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  // Signals reach the main thread only.
  if (isMainThread) for (const s of ENDING_SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const s of ENDING_SIGNALS) process.off(s, onSignal);
}

/**
 * Revokes `lease` when the process ends normally; returns the function that forgets it
 * (the lease was revoked or lost otherwise).
 *
 * @example
 * const forget = revokeAtExit({ endpoints, id, tls: null, auth: null });
 */
export function revokeAtExit(lease: HeldLease): () => void {
  held.add(lease);
  install();
  return () => {
    held.delete(lease);
    if (held.size === 0) uninstall();
  };
}

/** The worker script (built: dist/adapters/registry/etcd/exit-worker.js), or `null`. */
function workerScript(): string | null {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('berth-ports/package.json'));
    const script = join(root, 'dist/adapters/registry/etcd/exit-worker.js');
    return existsSync(script) ? script : null;
  } catch {
    return null;
  }
}

/**
 * Revokes every held lease now, synchronously: blocks until the worker reports or
 * `timeoutMs` pass. Returns whether every lease was revoked.
 *
 * @example
 * process.on('exit', () => revokeHeldSync());
 */
export function revokeHeldSync(timeoutMs = EXIT_REVOKE_MS): boolean {
  const leases = [...held];
  held.clear();
  if (leases.length === 0) return true;
  const script = workerScript();
  if (script === null) return false;
  const flag = new SharedArrayBuffer(4);
  // Leases of one cluster go together; clusters are rare beyond one.
  const byCluster = new Map<string, HeldLease[]>();
  for (const lease of leases) {
    const key = JSON.stringify([lease.endpoints, lease.tls, lease.auth]);
    byCluster.set(key, [...(byCluster.get(key) ?? []), lease]);
  }
  const deadline = Date.now() + timeoutMs;
  let ok = true;
  for (const group of byCluster.values()) {
    const first = group[0]!;
    const data: ExitWorkerData = {
      flag,
      endpoints: [...first.endpoints],
      leaseIds: group.map((l) => l.id),
      deadline,
      tls: first.tls,
      auth: first.auth,
    };
    const cell = new Int32Array(flag);
    Atomics.store(cell, 0, 0);
    try {
      // None of the process's flags: `--input-type=module` (node -e) stops a worker file from
      // starting, and a loader (`--import tsx`) would only slow it; it needs Node's built-ins only.
      const worker = new Worker(script, { workerData: data, execArgv: [] });
      worker.on('error', () => {});
      worker.unref();
      Atomics.wait(cell, 0, 0, Math.max(1, deadline - Date.now()));
      void worker.terminate();
    } catch {
      ok = false;
      continue;
    }
    ok &&= Atomics.load(cell, 0) === 1;
  }
  return ok;
}

function revokeNow(): void {
  try {
    revokeHeldSync();
  } catch {
    // Exiting anyway: the leases expire by their TTL.
  }
}
