/**
 * The checkouts berth has named: which folder is which checkout of which
 * project, kept so that a name is as sticky as a port. The interface its
 * adapter (src/adapters/registry/checkouts.ts) implements, and the one that
 * reads what a folder is (src/adapters/vcs/checkout.ts). Checkouts are this
 * machine's folders and names are for this machine's proxy, so they live in
 * the machine's registry file whatever holds the leases (as `runs` do).
 */
import type { CheckoutFacts, CheckoutName } from './names.js';

/** The registered checkouts. */
export interface CheckoutStore {
  /** Every registered checkout, ordered by project, then label. */
  all(): CheckoutName[];
  /** The checkout registered for `dir`, or `null`. */
  get(dir: string): CheckoutName | null;
  /**
   * Registers `dir` under `project` unless it already is, in one write
   * transaction: `choose` gets the labels the project's other checkouts hold
   * and returns this one's. Rows of folders `gone` says no longer exist are
   * dropped first, so their labels can be taken again. Returns the row.
   */
  register(
    dir: string,
    project: string,
    choose: (taken: ReadonlySet<string>) => string,
    gone: (dir: string) => boolean,
  ): CheckoutName;
  close(): void;
}

/** What a folder is, as far as naming goes. */
export interface WorktreeReader {
  /** Whether `dir` is a linked git worktree, a main one or a plain folder, and its branch. */
  facts(dir: string): CheckoutFacts;
  /** Whether the folder still exists. */
  exists(dir: string): boolean;
}
