/**
 * berth's connection to etcd: the `etcd3` client (gRPC, endpoint fail-over, watches
 * that resume), every call bounded by a timeout and every failure turned into one
 * `E_REGISTRY` that names the endpoints and what to check; and this process's etcd
 * lease, which the keys of the leases it owns are attached to.
 *
 * Nothing here keeps the process alive on its own: the keep-alive timer is unref'd
 * and each keep-alive is a short stream, so a script whose work is done exits, and
 * its ports come back when the lease expires (or at once on its host: the reclaimer).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CallOptions } from '@grpc/grpc-js';
import type { Etcd3, Lease as EtcdLease, IOptions } from 'etcd3';
import type { ETCD_SECRET_VARS } from '../../../core/registry-url.js';
import { BerthError } from '../../../errors.js';
import { type HeldLease, revokeAtExit } from './exit-release.js';

/**
 * How long one registry operation may wait for etcd, in milliseconds: a commit with
 * its resends across members, a load, a read. Past it: `E_REGISTRY`. A leader election
 * takes 1 to 2 s with etcd's defaults, and up to 5 s was measured here (a split vote on
 * a loaded machine): 8 s covers it with room.
 */
export const ETCD_TIMEOUT_MS = 8_000;

/**
 * How long the first two sends of a request may take before it is sent again, in
 * milliseconds; each send after them may take twice as long as the one before (1, 1, 2,
 * 4 s). A request caught by a member's death or a leader election can hang until etcd's
 * own request timeout (about 7 s): a follower drops proposals while it has no leader.
 * Sent again, it reaches the new leader, which etcd elects within about 2 s by default.
 * The sends grow so that an etcd that is merely slow (overloaded) is not sent ever more
 * copies. Resending is safe: reads are reads, and a commit compares revisions, so at
 * most one of its sends applies.
 */
export const SEND_TIMEOUT_MS = 1_000;

/** TTL of this process's etcd lease, in seconds: its ports come back this long after it dies (at once on its own host). */
export const PROCESS_LEASE_TTL_S = 15;

/** Keep-alives per TTL (etcd's own clients use 3). */
const KEEPALIVES_PER_TTL = 3;

/** What opens a session. */
export interface SessionOptions {
  endpoints: readonly string[];
  /** The registry URL, for messages. */
  url: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called when this process's etcd lease was lost (its keys are gone or going). */
  onLeaseLost?: (error: unknown) => void;
}

/** Reads TLS files and credentials from the environment (never from a config file). */
export function clientOptions(endpoints: readonly string[], env: NodeJS.ProcessEnv): IOptions {
  const read = (name: (typeof ETCD_SECRET_VARS)[number]) => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new BerthError(
        'E_REGISTRY',
        `${name}=${path} cannot be read (${(error as Error).message}). Point ${name} at a readable PEM file.`,
        { cause: error },
      );
    }
  };
  const ca = read('BERTH_ETCD_CA');
  const cert = read('BERTH_ETCD_CERT');
  const key = read('BERTH_ETCD_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw new BerthError(
      'E_REGISTRY',
      'BERTH_ETCD_CERT and BERTH_ETCD_KEY go together (a client certificate and its key). Set both, or neither.',
    );
  }
  const tls = ca !== undefined || cert !== undefined;
  const user = env.BERTH_ETCD_USER;
  const password = env.BERTH_ETCD_PASSWORD;
  if ((user === undefined) !== (password === undefined)) {
    throw new BerthError(
      'E_REGISTRY',
      'BERTH_ETCD_USER and BERTH_ETCD_PASSWORD go together. Set both, or neither.',
    );
  }
  return {
    hosts: endpoints.map((h) => `${tls ? 'https' : 'http'}://${h}`),
    ...(tls
      ? {
          credentials: {
            rootCertificate: ca ?? Buffer.alloc(0),
            ...(key ? { privateKey: key } : {}),
            ...(cert ? { certChain: cert } : {}),
          },
        }
      : {}),
    ...(user !== undefined && password !== undefined ? { auth: { username: user, password } } : {}),
    dialTimeout: ETCD_TIMEOUT_MS,
  };
}

/** An error from etcd as berth reports it. */
export function registryError(url: string, what: string, error: unknown, timeoutMs: number): BerthError {
  if (error instanceof BerthError) return error;
  // grpc-js ends a failed connection's message with an empty "Resolution note: ." of its own.
  const message = ((error as Error)?.message ?? String(error))
    .replace(/\s*Resolution note:\s*\.?\s*$/, '')
    .replace(/\.\s*$/, '');
  const auth = /auth|permission denied|unauthenticated|invalid (user|password)/i.test(message);
  const hint = auth
    ? 'Check BERTH_ETCD_USER and BERTH_ETCD_PASSWORD (and that the user may read and write the prefix).'
    : /certificate|ssl|tls|handshake/i.test(message)
      ? 'Check BERTH_ETCD_CA, BERTH_ETCD_CERT and BERTH_ETCD_KEY.'
      : `Check that a majority of the members is up and reachable from here (etcdctl --endpoints=${endpointsOf(url)} endpoint health), then try again.`;
  return new BerthError(
    'E_REGISTRY',
    `the etcd registry ${url} failed to ${what} within ${timeoutMs} ms: ${message.replace(/\s+/g, ' ').slice(0, 300)}. ${hint}`,
    { cause: error, data: { registry: url } },
  );
}

function endpointsOf(url: string): string {
  return url.replace(/^etcd:\/\//, '').replace(/\/.*$/, '');
}

/** Whether sending a request again may help: not for refused credentials or a request etcd rejects as such. */
function retryable(error: unknown): boolean {
  const message = String((error as Error)?.message ?? error);
  return !/auth|permission denied|unauthenticated|too many operations|duplicate key|invalid argument|request is too large|lease not found|compacted/i.test(
    message,
  );
}

/** Rejects with a timeout error when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${what} in ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The etcd client of one registry, and this process's etcd lease. */
export class EtcdSession {
  readonly timeoutMs: number;
  private lease: EtcdLease | null = null;
  private leaseId: Promise<string> | null = null;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** Forgets the granted lease's revoke at exit (exit-release.ts). */
  private forgetAtExit: () => void = () => {};
  private closed = false;

  private constructor(
    readonly client: Etcd3,
    private readonly options: SessionOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? ETCD_TIMEOUT_MS;
  }

  /** Loads the etcd3 client (only now: a SQLite process never loads it) and connects lazily. */
  static async open(options: SessionOptions): Promise<EtcdSession> {
    const env = options.env ?? process.env;
    const clientConfig = clientOptions(options.endpoints, env);
    const [{ Etcd3 }, { ExponentialBackoff, noop }] = await loadClient();
    const client = new Etcd3({
      ...clientConfig,
      faultHandling: {
        // No circuit breaker per member: etcd3's default opens one for 5 s after 3 failures,
        // and the sends that time out while a new leader is elected count as failures of
        // the members that are up: every member was shut off for 5 s after a leader's death
        // (measured: a 9 s outage). A dead member fails fast (connection refused), and the
        // pool's retry goes to another.
        host: () => noop,
        // Reconnect a watch within a second of a member coming back, not after up to 30 s.
        // etcd3 calls `.next()` on it as on its own default, a factory; its type says otherwise.
        watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) as unknown as NonNullable<
          NonNullable<IOptions['faultHandling']>['watchBackoff']
        >,
      },
    });
    return new EtcdSession(client, options);
  }

  /** Imports the client's modules now, so the first open does not wait for them. */
  static async preload(): Promise<void> {
    await loadClient();
  }

  /** Call options for one call with `deadline` (epoch ms). */
  callOptions(deadline: number): CallOptions {
    return { deadline: new Date(deadline) };
  }

  /**
   * Runs one etcd call, sending it again (sends bounded as {@link SEND_TIMEOUT_MS} says)
   * until it answers or the deadline passes; failures become `E_REGISTRY`. Only for
   * requests that may be sent twice (reads; commits that compare revisions).
   */
  async call<T>(what: string, run: (options: CallOptions) => Promise<T>, deadline?: number): Promise<T> {
    const until = deadline ?? Date.now() + this.timeoutMs;
    let lastError: unknown;
    for (let send = 0; send === 0 || Date.now() < until; send++) {
      const sendUntil = Math.min(until, Date.now() + SEND_TIMEOUT_MS * 2 ** Math.max(0, send - 1));
      try {
        return await withTimeout(run(this.callOptions(sendUntil)), Math.max(1, sendUntil - Date.now()), what);
      } catch (error) {
        // etcd3 stops trying a member that failed 3 times for 5 s ("circuit breaker is open"):
        // the error worth reporting is the one that opened it.
        if (lastError === undefined || !/circuit breaker/i.test(String((error as Error)?.message))) {
          lastError = error;
        }
        if (!retryable(error)) break;
        const pause = Math.min(100, 5 * 2 ** send, Math.max(0, until - Date.now()));
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
    throw registryError(this.options.url, what, lastError, this.timeoutMs);
  }

  /** This process's etcd lease id, granted on first use and kept alive while the process lives. */
  processLease(deadline: number): Promise<string> {
    if (this.leaseId) return this.leaseId;
    const lease = this.client.lease(PROCESS_LEASE_TTL_S, { autoKeepAlive: false });
    lease.on('lost', (error) => this.dropLease(lease, error));
    this.lease = lease;
    const granted = withTimeout(lease.grant(), Math.max(1, deadline - Date.now()), 'a lease grant').catch(
      (error: unknown) => {
        if (this.lease === lease) {
          this.lease = null;
          this.leaseId = null;
        }
        lease.release();
        throw registryError(this.options.url, 'grant a lease', error, this.timeoutMs);
      },
    );
    this.leaseId = granted;
    granted
      .then((id) => {
        this.startKeepAlive(lease);
        // A normal exit revokes it: the process's leases go for every host at once.
        this.forgetAtExit();
        this.forgetAtExit = revokeAtExit(this.exitLease(id));
      })
      .catch(() => {});
    return granted;
  }

  /** What the exit hook needs to revoke lease `id` without this client. */
  private exitLease(id: string): HeldLease {
    const env = this.options.env ?? process.env;
    const tls = [env.BERTH_ETCD_CA, env.BERTH_ETCD_CERT, env.BERTH_ETCD_KEY].some((v) => v)
      ? {
          ...(env.BERTH_ETCD_CA ? { ca: env.BERTH_ETCD_CA } : {}),
          ...(env.BERTH_ETCD_CERT ? { cert: env.BERTH_ETCD_CERT } : {}),
          ...(env.BERTH_ETCD_KEY ? { key: env.BERTH_ETCD_KEY } : {}),
        }
      : null;
    const user = env.BERTH_ETCD_USER;
    const password = env.BERTH_ETCD_PASSWORD;
    return {
      endpoints: this.options.endpoints,
      id,
      tls,
      auth: user !== undefined && password !== undefined ? { user, password } : null,
    };
  }

  private startKeepAlive(lease: EtcdLease): void {
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = setInterval(
      () => {
        if (this.lease !== lease || this.closed) return;
        withTimeout(lease.keepaliveOnce(), this.timeoutMs, 'a keep-alive').catch(() => {
          // A missed keep-alive is retried on the next tick; `lost` fires when etcd says the lease is gone.
        });
      },
      (PROCESS_LEASE_TTL_S * 1000) / KEEPALIVES_PER_TTL,
    );
    this.keepAliveTimer.unref();
  }

  private dropLease(lease: EtcdLease, error: unknown): void {
    if (this.lease !== lease) return;
    this.lease = null;
    this.leaseId = null;
    clearInterval(this.keepAliveTimer);
    this.forgetAtExit();
    if (!this.closed) this.options.onLeaseLost?.(error);
  }

  /** Forgets the etcd lease (etcd said it is gone); the next write that needs one is granted a new one. */
  forgetLease(): void {
    const lease = this.lease;
    if (!lease) return;
    this.lease = null;
    this.leaseId = null;
    clearInterval(this.keepAliveTimer);
    this.forgetAtExit();
    lease.release();
  }

  /** Whether this process holds a granted etcd lease now. */
  get hasLease(): boolean {
    return this.lease !== null;
  }

  /**
   * Closes the client. The etcd lease is revoked only with `revoke` (its keys then go
   * at once); by default its keys (the process's own leases) go when the process exits
   * (exit-release.ts), or when the lease expires (no keep-alive is sent after close).
   */
  close(revoke = false): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAliveTimer);
    const lease = this.lease;
    this.lease = null;
    if (lease && revoke) {
      const forget = this.forgetAtExit;
      void withTimeout(lease.revoke(), 1000, 'a lease revoke')
        .then(forget, () => {})
        .finally(() => this.client.close());
      return;
    }
    lease?.release();
    this.client.close();
  }
}

let client: Promise<[typeof import('etcd3'), typeof import('cockatiel')]> | undefined;

/** What a user who chose etcd without its client runs: the optional peer dependencies. */
export const ETCD_INSTALL = 'npm install etcd3 cockatiel';

/**
 * The etcd3 client and cockatiel, loaded once per process when an etcd registry is first
 * opened. Both are CommonJS, and are required rather than imported: a dynamic `import()`
 * fails in Jest's sandbox (berth-ports/jest's CommonJS build) without --experimental-vm-modules.
 * They are optional peer dependencies (most installs use SQLite and never load them):
 * missing, the etcd registry fails at once with `E_REGISTRY` and the install line. A
 * failed load is not kept, so installing them fixes a long-running process's next call.
 *
 * @param load for tests: the require the modules are loaded with.
 */
export function loadClient(
  load: NodeJS.Require = createRequire(import.meta.url),
): Promise<[typeof import('etcd3'), typeof import('cockatiel')]> {
  client ??= Promise.resolve()
    .then(() => {
      const etcd3 = load('etcd3') as typeof import('etcd3');
      // cockatiel comes with etcd3: where only etcd3 was installed, it is found beside it.
      let cockatiel: typeof import('cockatiel');
      try {
        cockatiel = load('cockatiel') as typeof import('cockatiel');
      } catch {
        cockatiel = createRequire(load.resolve('etcd3'))('cockatiel') as typeof import('cockatiel');
      }
      return [etcd3, cockatiel] as [typeof import('etcd3'), typeof import('cockatiel')];
    })
    .catch((error: unknown) => {
      client = undefined;
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
      throw new BerthError(
        'E_REGISTRY',
        `the etcd registry needs the etcd client, which is not installed: run \`${ETCD_INSTALL}\` in the project (berth lists them as optional peer dependencies, so SQLite users never install them).`,
        { data: { install: ETCD_INSTALL } },
      );
    });
  return client;
}
