/**
 * Network facts of this machine: listening sockets (/proc), the ephemeral
 * range, Windows' excluded ranges, and bind probes.
 */
export {
  FREEBSD_DEFAULT_RANGE,
  IANA_DYNAMIC_RANGE,
  IP_LOCAL_PORT_RANGE_FILE,
  parseIpLocalPortRange,
  readEphemeralRange,
} from './ephemeral.js';
export { ipv4Text, ipv6Text } from './ip-text.js';
export type { KernelFactsOptions, KernelSources, NodeKernelFacts } from './kernel.js';
export { createKernelFacts, LISTENERS_CACHE_MS, LISTENERS_STALE_MS } from './kernel.js';
export type { RunCommand } from './netsh.js';
export { NETSH_EXCLUDED_RANGES_ARGS, parseNetshExcludedPortRanges, readExcludedRanges } from './netsh.js';
export type { ProbeOptions, ProbeStrategy } from './probe.js';
export { createProbe, PROBE_TIMEOUT_MS, probeHost, probePort } from './probe.js';
export type { Endianness, ProcNetFiles } from './procnet.js';
export { PROC_NET_FILES, parseProcNetTcp, readListeners, readListenersAsync } from './procnet.js';
