/**
 * Who is on a port (`berth who`): the processes listening on it, as the
 * adapters see them, and berth's leases of it, with the owning lease's state.
 */
import type { HiddenListener, PortHolders } from '../core/facts.js';
import type { Lease } from '../core/types.js';
import type { Adapters } from './context.js';
import { type LeaseView, leaseViews } from './lease-views.js';

/** Everything `berth who` shows about a port. */
export interface PortReport {
  /** The processes listening on the port; nothing listens when both lists are empty. */
  found: PortHolders;
  /** Every lease on the port (inheriting services share their root's port). */
  leases: Lease[];
  /** The lease that owns the port ({@link leaseOnPort}) with its state, or `null` when berth leased it to nobody. */
  lease: LeaseView | null;
}

/**
 * The lease that owns `port`: the root row when inheriting services share it.
 *
 * @example
 * leaseOnPort(registry.leasesInRange(3000, 3000))?.service; // 'server', not 'websocket'
 */
export function leaseOnPort(leases: readonly Lease[]): Lease | null {
  return leases.find((l) => l.inheritsFrom === null) ?? leases[0] ?? null;
}

/**
 * Who listens on `port` (from the kernel facts' listeners) and which lease holds it.
 *
 * @example
 * const { found, lease } = await whoIsOn(createAdapters(), 3000);
 */
export async function whoIsOn(
  adapters: Pick<Adapters, 'holders' | 'kernel' | 'registry' | 'processes' | 'now'>,
  port: number,
): Promise<PortReport> {
  const found = await adapters.holders.find(port, adapters.kernel.listeners());
  const leases = adapters.registry.leasesInRange(port, port);
  const owner = leaseOnPort(leases);
  return { found, leases, lease: owner ? leaseViews(adapters, [owner])[0]! : null };
}

/**
 * The login name of `uid` (the uid as text when unknown), `null` when the uid itself is unknown.
 *
 * @example
 * userNameOf(adapters, 0); // 'root'
 */
export function userNameOf(adapters: Pick<Adapters, 'users'>, uid: number | null): string | null {
  return uid === null ? null : adapters.users.nameOf(uid);
}

/** A listener whose process berth cannot show, classified from berth's own point of view. */
export interface HiddenHolder {
  address: string;
  /** Owner uid of the socket, `null` when unknown. */
  uid: number | null;
  /** That uid's login name, `null` when the uid is unknown. */
  user: string | null;
  /**
   * `other-user`: the socket belongs to another uid, and berth is not root (sudo
   * would show it). `not-visible`: the socket is berth's own uid, or berth runs
   * as root, and still no process berth can see holds it: it runs in another PID
   * namespace (a container), or it exited meanwhile.
   */
  kind: 'other-user' | 'not-visible';
}

/**
 * The hidden listeners as berth words them. The holder finder says "another
 * user's" whenever some fd tables were closed to it; that is only so when the
 * socket's uid is not berth's own, and never when berth is root (a root that
 * cannot see the process is in another PID namespace).
 *
 * @example
 * const hidden = hiddenHolders(adapters, (await whoIsOn(adapters, 3000)).found.hidden);
 */
export function hiddenHolders(
  adapters: Pick<Adapters, 'users'>,
  hidden: readonly HiddenListener[],
): HiddenHolder[] {
  const self = adapters.users.selfUid();
  return hidden.map((h) => {
    const ownUid = self !== null && (self === 0 || h.uid === self);
    return {
      address: h.address,
      uid: h.uid,
      user: userNameOf(adapters, h.uid),
      kind: h.reason === 'other-user' && !ownUid ? 'other-user' : 'not-visible',
    };
  });
}

/** Whose socket it is, as far as berth knows: "user bob (uid 1001)". */
function socketOwner(h: HiddenHolder): string {
  if (h.uid === null) return 'an unknown user';
  return h.user !== null && h.user !== String(h.uid) ? `user ${h.user} (uid ${h.uid})` : `uid ${h.uid}`;
}

/**
 * What `berth who <port>` says about a hidden listener: who holds it, why berth
 * cannot show the process, and what to do (sudo only for another user's socket,
 * never to root).
 *
 * @example
 * hiddenWhoNote(h, 3000); // 'a process of user bob (uid 1001); berth cannot see which: try `sudo berth who 3000`'
 */
export function hiddenWhoNote(h: HiddenHolder, port: number): string {
  if (h.kind === 'other-user') {
    return `a process of ${socketOwner(h)}; berth cannot see which: try \`sudo berth who ${port}\``;
  }
  return `a process of ${socketOwner(h)} that is not visible from here (another PID namespace, e.g. a container, or it exited meanwhile): ${whereToLook(port)}`;
}

/**
 * What `berth free <port>` says about a hidden listener it could not stop.
 *
 * @example
 * hiddenFreeNote(h, 3000, false); // "port 3000 is held on :: by a process of user bob (uid 1001); ..."
 */
export function hiddenFreeNote(h: HiddenHolder, port: number, also: boolean): string {
  const held = `port ${port} is${also ? ' also' : ''} held on ${h.address} by a process of ${socketOwner(h)}`;
  if (h.kind === 'other-user') {
    return `${held}; berth only stops your own processes. Ask its owner, or stop it with the rights to do so.`;
  }
  return `${held} that berth cannot see from here, so cannot stop (another PID namespace, e.g. a container, or it exited meanwhile): ${whereToLook(port)}, and stop it there; if it exited, run \`berth free ${port}\` again.`;
}

function whereToLook(port: number): string {
  return `check the container publishing the port (\`docker ps --filter publish=${port}\`), or find the process with \`ss -ltnp 'sport = :${port}'\` on the host`;
}
