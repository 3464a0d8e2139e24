/**
 * What the lsof and netstat fall-backs report about one listening socket, and
 * how both tools' socket names split into address and port.
 */

/** One listening socket of one process, as lsof or netstat report it. */
export interface CommandListener {
  pid: number;
  /** Command name (lsof `c`, netstat's `process:pid`), or `null` when the tool does not say. */
  command: string | null;
  /** Login name (lsof `L`, else its `u`), or `null` when the tool does not say. */
  user: string | null;
  /** Numeric uid (lsof `u`), or `null` when the tool does not say. */
  uid: number | null;
  /** `*` for every address, else the textual address without brackets: `127.0.0.1`, `::1`. */
  address: string;
  port: number;
}

/**
 * Splits an lsof or netstat socket name at its last separator: `*:3000`,
 * `127.0.0.1:3000`, `[::1]:3000` (separator `:`), or `*.3000`, `::1.3000` (`.`).
 * Returns `null` when the port is not a number in 0-65535.
 *
 * @example
 * splitAddressPort('[::1]:3000', ':'); // { address: '::1', port: 3000 }
 */
export function splitAddressPort(
  name: string,
  separator: ':' | '.',
): { address: string; port: number } | null {
  const cut = name.lastIndexOf(separator);
  if (cut <= 0) return null;
  const portText = name.slice(cut + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) return null;
  let address = name.slice(0, cut);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  return { address, port };
}
