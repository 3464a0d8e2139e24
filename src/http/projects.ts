/**
 * Which checkout an API request means. A project is named by its name
 * (`shop`) or by its folder (`/home/me/shop`); two checkouts of one project
 * share the name, and then the caller must say which with `dir=`.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Lease } from '../core/types.js';
import { HttpError } from './errors.js';

/** What a request names. */
export interface ProjectQuery {
  /** A project name or an absolute folder. */
  project: string | undefined;
  /** The checkout's folder, to pick one of several checkouts sharing a name. */
  dir: string | undefined;
  environment: string;
}

/** A checkout: its folder, and the name the caller used (if a name). */
export interface ProjectRef {
  dir: string;
  name: string | null;
}

function canonicalDir(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function absoluteDir(value: string, field: string): string {
  if (!isAbsolute(value)) {
    throw new HttpError(
      'E_USAGE',
      `${field} "${value}" is not an absolute folder. Give the checkout's absolute path, e.g. /home/me/shop.`,
    );
  }
  return canonicalDir(value);
}

/**
 * Resolves a request's project to one checkout, from the leases of every project.
 * Without a project, the one checkout holding leases in the environment is meant.
 * Throws 404 for a name nobody leased under, 409 `E_AMBIGUOUS` when several
 * checkouts match (listing their folders).
 *
 * @example
 * resolveProject({ project: 'shop', dir: undefined, environment: 'development' }, registry.allLeases())
 * // { dir: '/home/me/shop', name: 'shop' }
 */
export function resolveProject(query: ProjectQuery, leases: readonly Lease[]): ProjectRef {
  const project = query.project === '' ? undefined : query.project;
  if (project !== undefined && isAbsolute(project))
    return { dir: absoluteDir(project, 'project'), name: null };
  if (query.dir !== undefined && query.dir !== '')
    return { dir: absoluteDir(query.dir, 'dir'), name: project ?? null };
  const named = leases.filter(
    (l) => l.kind === 'service' && (project === undefined || l.project === project),
  );
  const inEnvironment = new Set(named.filter((l) => l.environment === query.environment).map((l) => l.dir));
  // A checkout leased in this environment wins; else any checkout known under the name.
  const candidates =
    project === undefined || inEnvironment.size > 0 ? inEnvironment : new Set(named.map((l) => l.dir));
  const dirs = [...candidates].sort();
  if (dirs.length === 1) return { dir: dirs[0]!, name: project ?? null };
  const what = project === undefined ? `environment "${query.environment}"` : `project "${project}"`;
  if (dirs.length === 0) {
    throw new HttpError(
      'E_NOT_FOUND',
      project === undefined
        ? `no project holds leases in ${what}. Run \`berth assign\` in a project, or name one with project=.`
        : `no project "${project}" holds leases. Give its folder instead (project=/path/to/checkout), or run \`berth assign\` there first.`,
      { data: { project: project ?? null } },
    );
  }
  throw new HttpError(
    'E_AMBIGUOUS',
    project === undefined
      ? `${dirs.length} checkouts hold leases in ${what} (projects ${[...new Set(named.filter((l) => candidates.has(l.dir)).map((l) => l.project))].sort().join(', ')}): ${dirs.join(', ')}. Add project= with a name or one of these folders.`
      : `${what} has ${dirs.length} checkouts: ${dirs.join(', ')}. Add dir= with one of these folders.`,
    { data: { project: project ?? null, folders: dirs } },
  );
}
