// Builds dist/ with tsc and copies the static assets the package ships.
// Runs on `npm install` (prepare) so a fresh clone has a working `npx berth`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  // Installed as a dependency without dev tools: dist/ ships prebuilt in the package.
  if (existsSync(join(root, 'dist/cli/main.js'))) process.exit(0);
  console.error('berth build: typescript is not installed; run `npm install` in the berth checkout.');
  process.exit(1);
}
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// The CLI is bundled into a few chunks (one per command, loaded lazily): resolving and
// compiling ~50 small ES modules cost more than a third of `berth get`'s start-up.
const { build } = await import('esbuild');
rmSync(join(root, 'dist/cli'), { recursive: true, force: true });
// `import { readFileSync } from 'node:fs'` in ESM makes Node build the module's whole
// export namespace, which runs fs's lazy getters and loads the stream modules (~3.5 ms of
// every CLI start, measured). The bundles take node:fs through require() instead.
const fsViaRequire = {
  name: 'fs-via-require',
  setup(b) {
    b.onResolve({ filter: /^node:fs$/ }, () => ({ path: 'node:fs', namespace: 'fs-via-require' }));
    b.onLoad({ filter: /.*/, namespace: 'fs-via-require' }, () => ({
      contents: "module.exports = require('fs');",
      loader: 'js',
    }));
  },
};
const shared = {
  plugins: [fsViaRequire],
  banner: {
    js: "import { createRequire as __berthRequire } from 'node:module';\nconst require = __berthRequire(import.meta.url);",
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
};
// The library entries too: importing 47 separate modules cost ~50 ms and ~9 MB of RSS
// before the first getPort(); tsc's per-module output stays for the .d.ts files.
// `berth` and `berth-ports/get-port` share one chunk of the getPort code, so a process that
// imports both has one set of leases per registry (and one exit hook); berth-ports/get-port
// loads none of the rest (config loader, yaml, jiti, HTTP).
// The test runners' entries (berth-ports/vitest, berth-ports/jest, berth-ports/playwright and their setup
// modules), and the watchdog process a test run starts: `dist/runners/...`, as in src/.
const runnerEntries = [
  'runners/vitest/index',
  'runners/vitest/setup',
  'runners/jest/index',
  'runners/jest/setup',
  'runners/jest/teardown',
  'runners/playwright/index',
  'runners/playwright/lease',
];
await build({
  ...shared,
  entryPoints: [
    { in: join(root, 'src/index.ts'), out: 'index' },
    { in: join(root, 'src/get-port/index.ts'), out: 'get-port/index' },
    ...runnerEntries.map((entry) => ({ in: join(root, `src/${entry}.ts`), out: entry })),
    { in: join(root, 'src/runners/watchdog.ts'), out: 'runners/watchdog' },
  ],
  outdir: join(root, 'dist'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
});
// CommonJS builds of the runners' entries, for `require('berth-ports/jest')` and Jest's
// CommonJS config files: Jest loads globalSetup with require, and most Jest projects are
// CommonJS. esbuild splits no CommonJS output, so each entry is a bundle of its own (the
// Jest setup and teardown share their runs through a global, see src/runners/jest).
// `import.meta.url` (createRequire for better-sqlite3 and the watchdog's path, jiti)
// becomes the bundle's own file URL; better-sqlite3 stays external and finds its addon.
// The CLI's bundle below is CommonJS the same way.
const commonJs = {
  ...shared,
  format: 'cjs',
  banner: { js: "const __berthImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__berthImportMetaUrl' },
};
await build({
  ...commonJs,
  entryPoints: runnerEntries.map((entry) => ({ in: join(root, `src/${entry}.ts`), out: entry })),
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.cjs' },
});
// Declarations for CommonJS consumers (the exports map's `require` types): TypeScript reads
// a .d.ts under "type": "module" as ESM, which a CommonJS file cannot require. Each .d.ts is
// copied to a .d.cts whose relative imports point at .cjs (so at the other .d.cts files).
for (const file of readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.d.ts') || file.startsWith('cli')) continue;
  const text = readFileSync(join(root, 'dist', file), 'utf8');
  const cjs = text
    .replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.cjs$2')
    // vitest is ESM only: its types are imported in ESM's resolution mode.
    .replace(
      /^((?:import|export) [^\n]*from\s+'vitest(?:\/node)?');/gm,
      "$1 with { 'resolution-mode': 'import' };",
    );
  writeFileSync(join(root, 'dist', file.replace(/\.d\.ts$/, '.d.cts')), cjs);
}
// The CLI: one CommonJS bundle (dist/cli/berth.js) that dist/cli/main.js, the `berth` bin,
// runs from V8's code cache (see src/cli/start.ts). ES modules get no compile cache on
// Node 20, and compiling the commands' code was most of a start: `berth get server` went
// from 1.75x `node -e 0` (ES module chunks) to 1.25-1.30x (bench/ANALYSIS.md). The commands stay lazy inside the
// bundle (each one's module runs when it is first imported), and V8 compiles only what runs.
// dist/cli/package.json makes both files CommonJS under the package's "type": "module".
// V8 drops the dynamic-import callback of a script it builds from a code cache, so the
// bundle may not keep an `import()`: the packages and builtins it imports lazily (yaml,
// jiti, node:child_process) are taken with require() instead, still only when first used.
const dynamicViaRequire = {
  name: 'dynamic-import-via-require',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'dynamic-via-require' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'dynamic-via-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};
// better-sqlite3's JavaScript goes inside the CLI's bundle, so it too runs from the code
// cache instead of a dozen files through the CommonJS loader (~10 ms of `berth get`,
// measured side by side); src/adapters/registry/better-sqlite3-js.ts says when it is used.
const sqliteManifest = require.resolve('better-sqlite3/package.json');
const sqliteInside = {
  name: 'better-sqlite3-inside',
  setup(b) {
    b.onLoad({ filter: /[\\/]registry[\\/]better-sqlite3-js\.ts$/ }, () => ({
      contents: [
        `export const BUNDLED_VERSION = ${JSON.stringify(JSON.parse(readFileSync(sqliteManifest, 'utf8')).version)};`,
        "export function bundledBetterSqlite3() { return require('better-sqlite3'); }",
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
    b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: require.resolve('better-sqlite3') }));
  },
};
mkdirSync(join(root, 'dist/cli'), { recursive: true });
writeFileSync(join(root, 'dist/cli/package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
await build({
  ...commonJs,
  plugins: [dynamicViaRequire, sqliteInside],
  // The bin checks this last line ran: an empty or cut bundle is valid JavaScript that does nothing.
  footer: { js: 'module.exports.complete = true;' },
  entryPoints: [{ in: join(root, 'src/cli/main.ts'), out: 'berth' }],
  outdir: join(root, 'dist/cli'),
});
const cliBundle = readFileSync(join(root, 'dist/cli/berth.js'));
if (/(?<![\w$.])import\(/.test(cliBundle.toString('utf8'))) {
  console.error('berth build: dist/cli/berth.js has an import(), which fails when run from the code cache.');
  process.exit(1);
}
if (!cliBundle.includes('BUNDLED_VERSION = "')) {
  console.error(
    "berth build: better-sqlite3's JavaScript did not go into dist/cli/berth.js (the plugin's path no longer matches).",
  );
  process.exit(1);
}
await build({
  ...shared,
  plugins: [],
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  // The bundle's content names its caches: V8 checks only a cache's source length.
  define: {
    __BERTH_BUNDLE_HASH__: JSON.stringify(createHash('sha256').update(cliBundle).digest('hex').slice(0, 16)),
  },
  entryPoints: [{ in: join(root, 'src/cli/start.ts'), out: 'main' }],
  outdir: join(root, 'dist/cli'),
});
const assets = join(root, 'src/http/assets');
if (existsSync(assets)) cpSync(assets, join(root, 'dist/http/assets'), { recursive: true });
chmodSync(join(root, 'dist/cli/main.js'), 0o755);
