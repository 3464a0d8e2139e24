/**
 * Who this host is in a shared registry, and where other hosts reach it. Ports
 * belong to hosts: two hosts may both lease port 3000.
 */
import { hostname, networkInterfaces } from 'node:os';

/**
 * This host's name in the registry: `BERTH_HOST`, else the machine's hostname.
 *
 * @example
 * hostName({ BERTH_HOST: 'ci-7' }) // 'ci-7'
 */
export function hostName(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.BERTH_HOST?.trim();
  return given ? given : hostname();
}

/**
 * Where other hosts reach this host's services: `BERTH_ADVERTISE`, else the first
 * non-loopback IPv4 address (then IPv6), else `null`.
 *
 * @example
 * advertisedAddress({ BERTH_ADVERTISE: 'dev-box.internal' }) // 'dev-box.internal'
 */
export function advertisedAddress(
  env: NodeJS.ProcessEnv = process.env,
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string | null {
  const given = env.BERTH_ADVERTISE?.trim();
  if (given) return given;
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  const v4 = external.find((a) => a.family === 'IPv4');
  if (v4) return v4.address;
  const v6 = external.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80:'));
  return v6 ? v6.address : null;
}

/**
 * An address as the host part of a URL (IPv6 in brackets).
 *
 * @example
 * urlHost('fd00::1') // '[fd00::1]'
 */
export function urlHost(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}
