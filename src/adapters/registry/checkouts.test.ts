import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseCheckoutLabel } from '../../core/names.js';
import { openCheckoutStore, rowToCheckout } from './checkouts.js';
import { openSideConnection } from './side-db.js';

const homes: string[] = [];
const tempHome = () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-checkouts-'));
  homes.push(home);
  return home;
};
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

const folder = (name: string) => ({ kind: 'folder' as const, branch: null, folder: name });
const never = () => false;

describe('checkout store', () => {
  it('keeps the first registration of a folder, across connections (sticky)', () => {
    const home = tempHome();
    const a = openCheckoutStore({ home });
    const first = a.register('/w/shop', 'shop', (t) => chooseCheckoutLabel(folder('shop'), 'shop', t), never);
    const second = a.register(
      '/w/copy',
      'shop',
      (t) => chooseCheckoutLabel(folder('copy'), 'shop', t),
      never,
    );
    a.close();
    const b = openCheckoutStore({ home });
    expect(first).toEqual({ dir: '/w/shop', project: 'shop', label: '' });
    expect(second.label).toBe('copy');
    // Registering again, whatever it would choose now, returns the stored row.
    expect(b.register('/w/copy', 'shop', () => 'other', never).label).toBe('copy');
    expect(b.all().map((c) => `${c.project}/${c.label}`)).toEqual(['shop/', 'shop/copy']);
    b.close();
  });

  it('gives labels back when their folder is gone, and re-registers a renamed project', () => {
    const home = tempHome();
    const store = openCheckoutStore({ home });
    store.register('/w/old', 'shop', () => '', never);
    const gone = (dir: string) => dir === '/w/old';
    expect(store.register('/w/new', 'shop', (t) => (t.has('') ? 'x' : ''), gone).label).toBe('');
    expect(store.get('/w/old')).toBeNull();
    expect(store.register('/w/new', 'market', () => '', never)).toEqual({
      dir: '/w/new',
      project: 'market',
      label: '',
    });
    store.close();
  });

  it('never lets two folders hold one name (the UNIQUE index), and skips malformed rows', () => {
    const home = tempHome();
    const store = openCheckoutStore({ home });
    store.register('/w/a', 'shop', () => '', never);
    expect(() => store.register('/w/b', 'shop', () => '', never)).toThrow(/UNIQUE/);
    const db = openSideConnection({ home });
    db.prepare(
      "INSERT INTO checkouts (dir, project, label, created_at) VALUES ('/w/bad', 'Not A Label', '', 1)",
    ).run();
    db.close();
    expect(store.all().map((c) => c.dir)).toEqual(['/w/a']);
    expect(rowToCheckout({ dir: '/x', project: 'shop', label: '-bad' })).toBeNull();
    expect(rowToCheckout({ dir: 7, project: 'shop', label: '' })).toBeNull();
    store.close();
  });

  it('hands out distinct labels to folders registering through different connections', () => {
    const home = tempHome();
    const stores = [0, 1, 2, 3].map(() => openCheckoutStore({ home }));
    const rows = stores.map((s, i) =>
      s.register(`/w/c${i}`, 'shop', (t) => chooseCheckoutLabel(folder('c'), 'shop', t), never),
    );
    expect(new Set(rows.map((r) => r.label)).size).toBe(4);
    for (const s of stores) s.close();
  });
});
