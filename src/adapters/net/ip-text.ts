/**
 * Textual IP addresses from raw bytes, written exactly as glibc's and libuv's
 * `inet_ntop` write them, so an address read from /proc reads the same as the
 * one Node reports for the socket (`server.address().address`).
 */

/** Dotted quad of four bytes in network order: `127.0.0.1`. */
export function ipv4Text(b0: number, b1: number, b2: number, b3: number): string {
  return `${b0}.${b1}.${b2}.${b3}`;
}

/**
 * RFC 5952 text of 16 bytes in network order: lowercase hex without leading
 * zeros, the first longest run of two or more zero groups written `::`, and
 * the last four bytes dotted for IPv4-mapped (`::ffff:127.0.0.1`) and
 * IPv4-compatible (`::127.0.0.1`) addresses.
 *
 * @example
 * ipv6Text([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]); // '::1'
 */
export function ipv6Text(bytes: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let g = 0; g < 8; g++) groups.push(((bytes[2 * g] ?? 0) << 8) | (bytes[2 * g + 1] ?? 0));

  let zerosAt = -1;
  let zeros = 0;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === 0) end++;
    if (end - g > zeros) {
      zerosAt = g;
      zeros = end - g;
    }
    g = end;
  }
  // A single zero group is written out, never as `::` (RFC 5952 section 4.2.2).
  if (zeros < 2) zerosAt = -1;

  // Same test as inet_ntop: 96 zero bits (compatible) or 80 zero bits then ffff (mapped).
  const embedsIpv4 = zerosAt === 0 && (zeros === 6 || (zeros === 5 && groups[5] === 0xffff));
  const hexGroups = embedsIpv4 ? 6 : 8;
  let text = '';
  for (let g = 0; g < hexGroups; g++) {
    if (g === zerosAt) {
      text += '::';
      g += zeros - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (groups[g] ?? 0).toString(16);
  }
  if (embedsIpv4) {
    if (!text.endsWith(':')) text += ':';
    text += ipv4Text(bytes[12] ?? 0, bytes[13] ?? 0, bytes[14] ?? 0, bytes[15] ?? 0);
  }
  return text;
}
