/**
 * Which services a plan touches and in what order: inheritance targets first,
 * then priority high -> low, then declaration order. Pure.
 */
import type { Priority, ServiceSpec } from './types.js';

/** Larger ranks win. */
export const PRIORITY_RANK: Record<Priority, number> = { high: 3, medium: 2, low: 1 };

/** The service at the root of `name`'s inheritance chain (itself when it inherits nothing). */
export function inheritanceRoot(name: string, byName: ReadonlyMap<string, ServiceSpec>): string {
  let current = name;
  const seen = new Set<string>();
  for (;;) {
    const spec = byName.get(current);
    if (!spec?.inheritFrom || seen.has(current)) return current;
    seen.add(current);
    current = spec.inheritFrom;
  }
}

/**
 * The services that need a port of their own to plan `targets` (each target's
 * inheritance root), in planning order.
 */
export function planningOrder(
  services: readonly ServiceSpec[],
  targets: readonly string[],
): { roots: string[] } {
  const byName = new Map(services.map((s) => [s.name, s]));
  const rootSet = new Set(targets.map((t) => inheritanceRoot(t, byName)));
  const index = new Map(services.map((s, i) => [s.name, i]));
  const roots = [...rootSet].sort((a, b) => {
    const pa = PRIORITY_RANK[byName.get(a)!.priority];
    const pb = PRIORITY_RANK[byName.get(b)!.priority];
    return pb - pa || index.get(a)! - index.get(b)!;
  });
  return { roots };
}
