/**
 * The one switch for Linux's /proc. Every reader of /proc asks here, so berth can
 * run on Linux the way it runs where there is no /proc (macOS, Windows): plans from
 * bind probes without the kernel's socket table, owner liveness by signal without
 * start times, stops without reading process groups, and `berth who` through lsof.
 * `BERTH_PROCFS=off` turns it off (read once per process); `npm test` runs the core
 * end-to-end tests a second time that way.
 */

/** Where /proc is mounted, or `null` when berth does without it (off Linux, or `BERTH_PROCFS=off`). */
export const PROC_ROOT: string | null =
  process.platform === 'linux' && process.env.BERTH_PROCFS !== 'off' ? '/proc' : null;
