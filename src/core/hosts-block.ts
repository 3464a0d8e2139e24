/**
 * berth's block in a hosts file (`/etc/hosts`), for resolvers that do not
 * send `*.localhost` to loopback themselves. Pure text in, text out: one
 * section per checkout inside a marked block, so a write replaces its own
 * checkout's names, drops the sections of checkouts that are gone, and never
 * touches a line outside the block.
 */

/** The block's first line. */
export const HOSTS_BEGIN = '# >>> berth names: `berth hosts --write` keeps this block; edit outside it >>>';
/** The block's last line. */
export const HOSTS_END = '# <<< berth names <<<';
const SECTION = '# checkout ';

/** One checkout's names in the block. */
export interface HostsSection {
  dir: string;
  names: string[];
}

/** The lines that send `names` to loopback, IPv4 and IPv6, one name a line. */
export function hostsLines(names: readonly string[]): string[] {
  return [...names.map((n) => `127.0.0.1\t${n}`), ...names.map((n) => `::1\t${n}`)];
}

/** The sections of berth's block in `text` (none when there is no block). */
export function readHostsBlock(text: string): HostsSection[] {
  const lines = text.split('\n');
  const begin = lines.indexOf(HOSTS_BEGIN);
  const end = lines.indexOf(HOSTS_END, begin + 1);
  if (begin === -1 || end === -1) return [];
  const sections: HostsSection[] = [];
  for (const line of lines.slice(begin + 1, end)) {
    if (line.startsWith(SECTION)) sections.push({ dir: line.slice(SECTION.length), names: [] });
    else {
      const name = line.split(/\s+/)[1];
      const last = sections.at(-1);
      if (name && last && !last.names.includes(name)) last.names.push(name);
    }
  }
  return sections;
}

/** What {@link updateHostsText} did. */
export interface HostsUpdate {
  text: string;
  added: string[];
  removed: string[];
}

/**
 * `text` with berth's block holding `section` (replacing that checkout's names),
 * the sections `keep` still wants, and nothing else. The block is appended
 * when the file has none; everything outside it stays byte for byte.
 *
 * @example
 * updateHostsText('127.0.0.1 localhost\n', { dir: '/w/shop', names: ['web.shop.localhost'] }, () => true).added
 * // ['web.shop.localhost']
 */
export function updateHostsText(
  text: string,
  section: HostsSection,
  keep: (dir: string) => boolean,
): HostsUpdate {
  const before = readHostsBlock(text);
  const sections = [
    ...before.filter((s) => s.dir !== section.dir && keep(s.dir)),
    ...(section.names.length > 0 ? [section] : []),
  ];
  const had = new Set(before.flatMap((s) => s.names));
  const has = new Set(sections.flatMap((s) => s.names));
  const block =
    sections.length === 0
      ? []
      : [HOSTS_BEGIN, ...sections.flatMap((s) => [`${SECTION}${s.dir}`, ...hostsLines(s.names)]), HOSTS_END];
  const lines = text.split('\n');
  const begin = lines.indexOf(HOSTS_BEGIN);
  const end = begin === -1 ? -1 : lines.indexOf(HOSTS_END, begin + 1);
  let out: string[];
  if (begin !== -1 && end !== -1) out = [...lines.slice(0, begin), ...block, ...lines.slice(end + 1)];
  else {
    const body = text === '' || text.endsWith('\n') ? lines.slice(0, -1) : lines;
    out = [...body, ...block, ''];
  }
  return {
    text: out.join('\n'),
    added: [...has].filter((n) => !had.has(n)),
    removed: [...had].filter((n) => !has.has(n)),
  };
}
