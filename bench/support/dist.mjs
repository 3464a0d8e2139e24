/**
 * Where berth's built code is loaded from. bench/run.mjs copies dist/ to a
 * private snapshot at start (other engineers rebuild dist/ while a 10-minute
 * run is going) and passes its path in BERTH_BENCH_DIST to every child
 * process; run alone, a module falls back to dist/ itself.
 */
import { cpSync, existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The repository's dist/ folder. */
export const REPO_DIST = join(HERE, '../../dist');

/** The folder berth is loaded from in this process: read at each call, since run.mjs sets it after start. */
export function distDir() {
  return process.env.BERTH_BENCH_DIST ?? REPO_DIST;
}

/** A `file:` URL of a module in {@link distDir}, for `import()`. */
export function distUrl(relative) {
  return pathToFileURL(join(distDir(), relative)).href;
}

/** The path of a file in {@link distDir}. */
export function distPath(relative) {
  return join(distDir(), relative);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The build script makes cli/main.js executable as its last step: a finished build. */
function finishedBuild() {
  const main = join(REPO_DIST, 'cli/main.js');
  if (!existsSync(main) || !existsSync(join(REPO_DIST, 'index.js'))) return null;
  const stat = statSync(main);
  return stat.mode & 0o100 ? stat.mtimeMs : null;
}

/**
 * Copies a finished dist/ to `target` (inside the repository, so the copy
 * still resolves node_modules), waiting up to `waitMs` for a build in
 * progress. Returns false when no finished build appeared.
 */
export async function snapshotDist(target, waitMs = 180_000) {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const before = finishedBuild();
    if (before !== null) {
      rmSync(target, { recursive: true, force: true });
      try {
        cpSync(REPO_DIST, target, { recursive: true });
        if (finishedBuild() === before && existsSync(join(target, 'cli/main.js'))) return true;
      } catch {
        // dist/ was deleted under us by a rebuild: wait for it to finish.
      }
    }
    await sleep(2000);
  }
  return false;
}
