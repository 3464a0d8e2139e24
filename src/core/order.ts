/**
 * Which services a plan touches and in what order: inheritance targets first,
 * then priority high -> low, then declaration order. Pure.
 */
import type { Priority, ServiceSpec } from './types.js';

/** Larger ranks win. */
export const PRIORITY_RANK: Record<Priority, number> = { high: 3, medium: 2, low: 1 };

/**
 * `name` and the services it inherits from, in order, ending at the root (the one
 * that declares ports). The one walk of inheritance chains: the config's cycle
 * check, the planner, the daemon's views. Stops at a cycle or a missing name.
 *
 * @example
 * inheritanceChain('wss', byName) // ['wss', 'websocket', 'server']
 */
export function inheritanceChain(
  name: string,
  byName: ReadonlyMap<string, { inheritFrom: string | null }>,
): string[] {
  const chain = [name];
  for (
    let next = byName.get(name)?.inheritFrom ?? null;
    next !== null;
    next = byName.get(next)?.inheritFrom ?? null
  ) {
    if (chain.includes(next) || !byName.has(next)) break;
    chain.push(next);
  }
  return chain;
}

/** The service at the root of `name`'s inheritance chain (itself when it inherits nothing). */
export function inheritanceRoot(
  name: string,
  byName: ReadonlyMap<string, { inheritFrom: string | null }>,
): string {
  const chain = inheritanceChain(name, byName);
  return chain[chain.length - 1]!;
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
