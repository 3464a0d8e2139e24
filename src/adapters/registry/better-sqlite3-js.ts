/**
 * better-sqlite3's JavaScript (its compiled addon is loaded apart, see `loadSqlite`).
 * Taken with require(): the package is CommonJS, and require() loads it faster than the
 * ES module loader. The CLI's bundle builds a copy of this module with the package's
 * JavaScript inside (scripts/build.mjs), run from V8's code cache like the rest of the
 * CLI, and records which version it holds: `loadSqlite` uses that copy only with the
 * addon of the same version.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

/** The version of the JavaScript {@link bundledBetterSqlite3} returns, or undefined when none is bundled. */
export const BUNDLED_VERSION: string | undefined = undefined;

/** better-sqlite3's JavaScript bundled into this build; here (no bundle) the installed package's. */
export function bundledBetterSqlite3(): typeof BetterSqlite3 {
  return require('better-sqlite3') as typeof BetterSqlite3;
}
