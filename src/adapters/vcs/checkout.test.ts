import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { branchOfHead, gitDirOfFile, isBareConfig, readCheckoutFacts } from './checkout.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'berth-vcs-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
    cwd,
    stdio: 'pipe',
  });

describe('git files', () => {
  it('reads a .git file, HEAD and a bare config', () => {
    expect(gitDirOfFile('gitdir: ../r/.git/worktrees/x\n', '/w/wt')).toBe('/w/r/.git/worktrees/x');
    expect(gitDirOfFile('nothing', '/w')).toBeNull();
    expect(branchOfHead('ref: refs/heads/feature/x\n')).toBe('feature/x');
    expect(branchOfHead('0123456789abcdef\n')).toBeNull();
    expect(isBareConfig('[core]\n\tbare = true\n')).toBe(true);
    expect(isBareConfig('[core]\n\tbare = false\n')).toBe(false);
  });
});

describe('readCheckoutFacts on real repositories', () => {
  const main = join(root, 'shop');
  mkdirSync(join(main, 'packages', 'app'), { recursive: true });
  writeFileSync(join(main, 'README'), 'x');
  git(main, 'init', '-q', '-b', 'main');
  git(main, 'add', '.');
  git(main, 'commit', '-q', '-m', 'init');
  git(main, 'worktree', 'add', '-q', '-b', 'feature/login', join(root, 'shop-login'));

  it('tells the main worktree, a linked one (with its branch) and a plain folder apart', () => {
    expect(readCheckoutFacts(join(main, 'packages', 'app'))).toEqual({
      kind: 'main-worktree',
      branch: 'main',
      folder: 'shop',
    });
    expect(readCheckoutFacts(join(root, 'shop-login'))).toEqual({
      kind: 'linked-worktree',
      branch: 'feature/login',
      folder: 'shop-login',
    });
    const plain = join(root, 'plain');
    mkdirSync(plain);
    expect(readCheckoutFacts(plain).kind).toBe('folder');
  });

  it('treats the worktrees of a bare repository as checkouts of their own', () => {
    const bare = join(root, 'bare.git');
    git(root, 'clone', '-q', '--bare', main, bare);
    git(bare, 'worktree', 'add', '-q', join(root, 'bare-main'), 'main');
    expect(readCheckoutFacts(join(root, 'bare-main'))).toMatchObject({
      kind: 'main-worktree',
      branch: 'main',
    });
  });
});
