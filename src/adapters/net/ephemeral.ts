/**
 * The kernel's ephemeral port range: the ports it hands to outgoing
 * connections and to `listen(0)`. berth never leases from it, or a client
 * connecting anywhere could take a service's port between plan and bind.
 */

import { readFileSync } from 'node:fs';
import { isPort } from '../../core/policy.js';
import type { PortRange } from '../../core/types.js';
import { PROC_ROOT } from '../procfs.js';

/** Linux's live range, two numbers separated by a tab. */
export const IP_LOCAL_PORT_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/**
 * The IANA dynamic range (RFC 6335 section 6), which macOS (`net.inet.ip.portrange.first`/`last`)
 * and Windows since Vista (`netsh int ipv4 show dynamicport tcp`) use by default.
 */
export const IANA_DYNAMIC_RANGE: PortRange = { min: 49152, max: 65535 };

/**
 * FreeBSD's default, `IPPORT_EPHEMERALFIRST` (10000) to `IPPORT_EPHEMERALLAST`
 * (65535) in sys/netinet/in.h: wider than the IANA range.
 */
export const FREEBSD_DEFAULT_RANGE: PortRange = { min: 10000, max: 65535 };

/** Linux's default `ip_local_port_range`: the range assumed when /proc is not read. */
export const LINUX_DEFAULT_RANGE: PortRange = { min: 32768, max: 60999 };

const PORT_TEXT = /^\d{1,5}$/;

/**
 * Parses the contents of /proc/sys/net/ipv4/ip_local_port_range (`32768\t60999\n`).
 * Returns `null` unless it holds exactly two ports with the first not above the second.
 *
 * @example
 * parseIpLocalPortRange('32768\t60999\n'); // { min: 32768, max: 60999 }
 */
export function parseIpLocalPortRange(text: string): PortRange | null {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) return null;
  const [first, last] = fields as [string, string];
  if (!PORT_TEXT.test(first) || !PORT_TEXT.test(last)) return null;
  const min = Number(first);
  const max = Number(last);
  if (!isPort(min) || !isPort(max) || min > max) return null;
  return { min, max };
}

/**
 * The live ephemeral range of this machine: read from the kernel on Linux,
 * the platform default on macOS, FreeBSD and Windows (their sysctl/netsh
 * would cost a child process; an administrator who moved the range can list
 * it in the config's `exclude`). `null` when unknown.
 *
 * @param platform for tests; defaults to `process.platform`.
 * @param file for tests; defaults to {@link IP_LOCAL_PORT_RANGE_FILE}.
 * @example
 * const range = readEphemeralRange(); // { min: 32768, max: 60999 } on most Linux systems
 */
export function readEphemeralRange(
  platform: NodeJS.Platform = process.platform,
  file: string = IP_LOCAL_PORT_RANGE_FILE,
): PortRange | null {
  switch (platform) {
    case 'linux':
    case 'android':
      if (PROC_ROOT === null && file === IP_LOCAL_PORT_RANGE_FILE) return { ...LINUX_DEFAULT_RANGE };
      try {
        return parseIpLocalPortRange(readFileSync(file, 'latin1'));
      } catch {
        return null;
      }
    case 'darwin':
    case 'win32':
      return { ...IANA_DYNAMIC_RANGE };
    case 'freebsd':
      return { ...FREEBSD_DEFAULT_RANGE };
    default:
      return null;
  }
}
