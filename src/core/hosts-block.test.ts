import { describe, expect, it } from 'vitest';
import { HOSTS_BEGIN, HOSTS_END, readHostsBlock, updateHostsText } from './hosts-block.js';

const user = '127.0.0.1 localhost\n10.0.0.5 printer.lan\n';

describe('berth block in a hosts file', () => {
  it('appends a block, keeping every line outside it', () => {
    const { text, added } = updateHostsText(
      user,
      { dir: '/w/shop', names: ['web.shop.localhost'] },
      () => true,
    );
    expect(text).toBe(
      `${user}${HOSTS_BEGIN}\n# checkout /w/shop\n127.0.0.1\tweb.shop.localhost\n::1\tweb.shop.localhost\n${HOSTS_END}\n`,
    );
    expect(added).toEqual(['web.shop.localhost']);
  });

  it("replaces a checkout's names, keeps other checkouts and drops the ones keep() refuses", () => {
    let text = updateHostsText(user, { dir: '/w/a', names: ['web.a.localhost'] }, () => true).text;
    text = updateHostsText(text, { dir: '/w/b', names: ['web.b.localhost'] }, () => true).text;
    text = `${text}# after the block\n`;
    const update = updateHostsText(
      text,
      { dir: '/w/a', names: ['api.a.localhost'] },
      (dir) => dir !== '/w/b',
    );
    expect(update.added).toEqual(['api.a.localhost']);
    expect(update.removed.sort()).toEqual(['web.a.localhost', 'web.b.localhost']);
    expect(readHostsBlock(update.text)).toEqual([{ dir: '/w/a', names: ['api.a.localhost'] }]);
    expect(update.text.startsWith(user)).toBe(true);
    expect(update.text.endsWith('# after the block\n')).toBe(true);
  });

  it('removes the whole block when nothing is left, and handles a file without a final newline', () => {
    const once = updateHostsText(
      '127.0.0.1 localhost',
      { dir: '/w/a', names: ['x.a.localhost'] },
      () => true,
    );
    expect(once.text.startsWith('127.0.0.1 localhost\n# >>> berth')).toBe(true);
    const gone = updateHostsText(once.text, { dir: '/w/a', names: [] }, () => true);
    expect(gone.text).toBe('127.0.0.1 localhost\n');
    expect(gone.removed).toEqual(['x.a.localhost']);
  });
});
