/**
 * "Did you mean" suggestions for misspelt keys and names.
 */

/**
 * Keys people bring from the seed port manager or from other tools, mapped to
 * berth's key. Edit distance cannot find these.
 */
const ALIASES: Readonly<Record<string, string>> = {
  conflictresolutionstrategy: 'strategy',
  servicedefinitions: 'services',
  inherit: 'inheritFrom',
  inherits: 'inheritFrom',
  port: 'preferred',
  ports: 'preferred',
  envvar: 'env',
  healthcheck: 'health',
  name: 'project',
};

/**
 * Edit distance between `a` and `b` counting a swap of two neighbours as one
 * edit (optimal string alignment), so `hihg` is one typo away from `high`.
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, before[j - 2]! + 1);
      }
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `word` when it is close enough to be a typo
 * (case ignored; at most 1 edit for short words, 2 for longer), else `null`.
 *
 * @example
 * closest('sever', ['server', 'client']) // 'server'
 */
export function closest(word: string, candidates: Iterable<string>): string | null {
  const list = [...candidates];
  const lower = word.toLowerCase();
  const alias = ALIASES[lower];
  if (alias !== undefined && list.includes(alias)) return alias;
  const limit = lower.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of list) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` Did you mean "x"?` when a close candidate exists, else an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates);
  return match === null ? '' : ` Did you mean "${match}"?`;
}

/**
 * The message for `name`, which `owner` names but is not a service: the close
 * name when there is one, else the other services, else (no other service to
 * name) that `owner` is the only one, and the two fixes. `removal` says how to
 * drop the reference: `remove the entry`, `remove inheritFrom`.
 *
 * @example
 * notAService('xx', 'api', [], 'remove the entry')
 * // '"xx" is not a service, and api is the only service: remove the entry, or declare xx under services.'
 */
export function notAService(name: string, owner: string, others: readonly string[], removal: string): string {
  if (others.length === 0) {
    return `"${name}" is not a service, and ${owner} is the only service: ${removal}, or declare ${name} under services.`;
  }
  return `"${name}" is not a service.${didYouMean(name, others) || ` Services: ${others.join(', ')}.`}`;
}
