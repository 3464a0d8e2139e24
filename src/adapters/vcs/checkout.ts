/**
 * What a folder is, for naming: a linked git worktree (and its branch), a
 * main worktree, or a plain folder. Reads git's own files (`.git`, `HEAD`,
 * `commondir`, `config`) instead of running git: a registration happens in
 * the middle of `berth assign`, and git may not even be installed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { WorktreeReader } from '../../core/checkouts.js';
import type { CheckoutFacts } from '../../core/names.js';

/**
 * The git dir a `.git` file points to (`gitdir: ../.git/worktrees/x`), or `null`.
 *
 * @example
 * gitDirOfFile('gitdir: /r/.git/worktrees/wt\n', '/w/wt') // '/r/.git/worktrees/wt'
 */
export function gitDirOfFile(text: string, top: string): string | null {
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!match) return null;
  return isAbsolute(match[1]!) ? match[1]! : resolve(top, match[1]!);
}

/**
 * The branch a `HEAD` file names (`ref: refs/heads/feature/x`), `null` when detached.
 *
 * @example
 * branchOfHead('ref: refs/heads/feature/x\n') // 'feature/x'
 */
export function branchOfHead(text: string): string | null {
  return /^ref:\s*refs\/heads\/(.+?)\s*$/m.exec(text)?.[1] ?? null;
}

/** Whether a git `config` file says the repository is bare. */
export function isBareConfig(text: string): boolean {
  return /^\s*bare\s*=\s*true\s*$/im.test(text);
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The nearest folder from `dir` upward that holds `.git`, or `null`. */
function gitTop(dir: string): string | null {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, '.git'))) return at;
    if (dirname(at) === at) return null;
  }
}

/**
 * Reads the facts of `dir`.
 *
 * @example
 * readCheckoutFacts('/work/wt-21') // { kind: 'linked-worktree', branch: 'issue-21', folder: 'wt-21' }
 */
export function readCheckoutFacts(dir: string): CheckoutFacts {
  const top = gitTop(dir);
  if (top === null) return { kind: 'folder', branch: null, folder: basename(dir) };
  const dotGit = join(top, '.git');
  const folder = basename(top);
  let isDir = false;
  try {
    isDir = statSync(dotGit).isDirectory();
  } catch {
    return { kind: 'folder', branch: null, folder: basename(dir) };
  }
  if (isDir) return { kind: 'main-worktree', branch: branchOfHead(read(join(dotGit, 'HEAD')) ?? ''), folder };
  const gitDir = gitDirOfFile(read(dotGit) ?? '', top);
  if (gitDir === null) return { kind: 'folder', branch: null, folder: basename(dir) };
  const branch = branchOfHead(read(join(gitDir, 'HEAD')) ?? '');
  // A submodule's .git file points into .git/modules/: it is its own repository's checkout.
  if (basename(dirname(gitDir)) !== 'worktrees') return { kind: 'main-worktree', branch, folder };
  const common = (read(join(gitDir, 'commondir')) ?? '..').trim();
  const commonDir = isAbsolute(common) ? common : resolve(gitDir, common);
  // The worktrees of a bare repository have no main worktree to defer to.
  const bare = isBareConfig(read(join(commonDir, 'config')) ?? '');
  return { kind: bare ? 'main-worktree' : 'linked-worktree', branch, folder };
}

/** The real reader. */
export function createWorktreeReader(): WorktreeReader {
  return { facts: readCheckoutFacts, exists: (dir) => existsSync(dir) };
}
