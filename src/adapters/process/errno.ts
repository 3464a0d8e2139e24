/**
 * The errno codes that matter when reading another process's /proc files or
 * signalling it: a process can vanish between two reads, and another user's
 * process can be visible but closed to us.
 */

/** The `code` of a Node system error (`ENOENT`, `EACCES`, ...), or `undefined`. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True for errors that mean "the process (or its fd) is gone": it exited between two reads. */
export function isGone(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ESRCH';
}

/** True for errors that mean "it exists, but belongs to someone we may not look at". */
export function isDenied(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'EACCES' || code === 'EPERM';
}
