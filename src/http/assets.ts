/**
 * The dashboard's files: read once at start (they ship in dist/http/assets, no
 * build step for the user) and served from memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One file the daemon serves. */
export interface Asset {
  body: Buffer;
  contentType: string;
}

/** URL path -> file. */
export type Assets = ReadonlyMap<string, Asset>;

/** The files of the dashboard, by URL path. */
const FILES: readonly { path: string; file: string; contentType: string }[] = [
  { path: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { path: '/dashboard.js', file: 'dashboard.js', contentType: 'text/javascript; charset=utf-8' },
  { path: '/dashboard.css', file: 'dashboard.css', contentType: 'text/css; charset=utf-8' },
  { path: '/favicon.svg', file: 'favicon.svg', contentType: 'image/svg+xml' },
];

/**
 * Where the assets are: beside this module (src/http/assets under vitest), or
 * dist/http/assets seen from the library bundle (dist/index.js) or from the CLI
 * bundle (dist/cli/berth.js).
 */
export function assetsDir(): string {
  const candidates = ['./assets/', './http/assets/', '../http/assets/'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(`${dir}/index.html`)) ?? candidates[0]!;
}

/**
 * Reads the dashboard's files from `dir`.
 *
 * @example
 * const assets = loadAssets();
 * assets.get('/')?.contentType // 'text/html; charset=utf-8'
 */
export function loadAssets(dir: string = assetsDir()): Assets {
  const out = new Map<string, Asset>();
  for (const f of FILES)
    out.set(f.path, { body: readFileSync(`${dir}/${f.file}`), contentType: f.contentType });
  return out;
}
