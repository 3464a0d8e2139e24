/**
 * The checkout store in the registry file (`checkouts`, migration 8): which
 * folder is which checkout of a project, so a checkout's name is the same on
 * every run. Its own connection, opened on first use (src/adapters/registry/side-db.ts);
 * a registration is one short `BEGIN IMMEDIATE` transaction, and the UNIQUE
 * index on (project, label) is the last line of defence against two checkouts
 * taking one name. Rows are validated on read.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { CheckoutStore } from '../../core/checkouts.js';
import { type CheckoutName, dnsLabel } from '../../core/names.js';
import { openSideConnection } from './side-db.js';

/** A `checkouts` row as SQLite returns it: not trusted. */
export interface CheckoutRow {
  dir: unknown;
  project: unknown;
  label: unknown;
}

const isLabel = (v: unknown, empty: boolean): v is string =>
  typeof v === 'string' && ((empty && v === '') || (v !== '' && dnsLabel(v) === v));

/** The checkout a row describes, or `null` when the row is malformed. */
export function rowToCheckout(row: CheckoutRow): CheckoutName | null {
  if (typeof row.dir !== 'string' || row.dir === '') return null;
  if (!isLabel(row.project, false) || !isLabel(row.label, true)) return null;
  return { dir: row.dir, project: row.project, label: row.label };
}

class SqliteCheckoutStore implements CheckoutStore {
  private readonly stmt;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly now: () => number,
  ) {
    this.stmt = {
      all: db.prepare('SELECT dir, project, label FROM checkouts ORDER BY project, label'),
      get: db.prepare('SELECT dir, project, label FROM checkouts WHERE dir = ?'),
      ofProject: db.prepare('SELECT dir, project, label FROM checkouts WHERE project = ?'),
      remove: db.prepare('DELETE FROM checkouts WHERE dir = ?'),
      insert: db.prepare('INSERT INTO checkouts (dir, project, label, created_at) VALUES (?, ?, ?, ?)'),
    };
  }

  all(): CheckoutName[] {
    return (this.stmt.all.all() as CheckoutRow[]).flatMap((row) => rowToCheckout(row) ?? []);
  }

  get(dir: string): CheckoutName | null {
    const row = this.stmt.get.get(dir) as CheckoutRow | undefined;
    return row ? rowToCheckout(row) : null;
  }

  register(
    dir: string,
    project: string,
    choose: (taken: ReadonlySet<string>) => string,
    gone: (dir: string) => boolean,
  ): CheckoutName {
    const run = this.db.transaction((): CheckoutName => {
      const mine = this.get(dir);
      if (mine !== null && mine.project === project) return mine;
      // A renamed project (or a malformed row) registers afresh under its new name.
      this.stmt.remove.run(dir);
      const taken = new Set<string>();
      for (const raw of this.stmt.ofProject.all(project) as CheckoutRow[]) {
        const row = rowToCheckout(raw);
        if (row === null || gone(row.dir)) this.stmt.remove.run(raw.dir);
        else taken.add(row.label);
      }
      const label = choose(taken);
      this.stmt.insert.run(dir, project, label, this.now());
      return { dir, project, label };
    });
    // IMMEDIATE: the read of the taken labels and the insert are one step for every process.
    return run.immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Opens the checkout store in `home` (the registry file, created and migrated as needed).
 *
 * @example
 * const checkouts = openCheckoutStore({ home: berthHome() });
 * checkouts.get('/work/shop'); // { dir: '/work/shop', project: 'shop', label: '' }
 */
export function openCheckoutStore(options: { home: string; now?: () => number }): CheckoutStore {
  return new SqliteCheckoutStore(openSideConnection(options), options.now ?? Date.now);
}
