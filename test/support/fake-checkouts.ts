/**
 * The checkout store and worktree reader of a fake machine: plain data, the
 * same contract as src/adapters/registry/checkouts.ts (labels unique per project).
 */
import { basename } from 'node:path';
import type { CheckoutStore, WorktreeReader } from '../../src/core/checkouts.js';
import type { CheckoutFacts, CheckoutName } from '../../src/core/names.js';

/** Registered checkouts by folder. */
export class MemoryCheckoutStore implements CheckoutStore {
  readonly rows = new Map<string, CheckoutName>();

  all(): CheckoutName[] {
    return [...this.rows.values()].sort(
      (a, b) => a.project.localeCompare(b.project) || a.label.localeCompare(b.label),
    );
  }

  get(dir: string): CheckoutName | null {
    return this.rows.get(dir) ?? null;
  }

  register(
    dir: string,
    project: string,
    choose: (taken: ReadonlySet<string>) => string,
    gone: (dir: string) => boolean,
  ): CheckoutName {
    const mine = this.rows.get(dir);
    if (mine?.project === project) return mine;
    this.rows.delete(dir);
    const taken = new Set<string>();
    for (const row of this.all()) {
      if (row.project !== project) continue;
      if (gone(row.dir)) this.rows.delete(row.dir);
      else taken.add(row.label);
    }
    const row = { dir, project, label: choose(taken) };
    this.rows.set(dir, row);
    return row;
  }

  close(): void {}
}

/** Folders are plain folders named by their last segment, unless told otherwise; all exist. */
export class FakeWorktrees implements WorktreeReader {
  readonly known = new Map<string, CheckoutFacts>();
  readonly missing = new Set<string>();

  facts(dir: string): CheckoutFacts {
    return this.known.get(dir) ?? { kind: 'folder', branch: null, folder: basename(dir) };
  }

  exists(dir: string): boolean {
    return !this.missing.has(dir);
  }
}
