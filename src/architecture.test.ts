/**
 * The layering of ARCHITECTURE.md, checked: which folder of src/ may import
 * which. The CLI and the daemon reach the machine only through the composition
 * (src/compose), so compose can be tested with fake adapters; the core stays
 * pure (no I/O module, nothing above it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** What each layer may import besides itself (`errors` is src/errors.ts). */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['errors'],
  config: ['core', 'errors'],
  adapters: ['core', 'errors'],
  // Only through its wiring, context.ts and preload.ts: see the test below.
  compose: ['adapters', 'config', 'core', 'errors'],
  http: ['compose', 'config', 'core', 'errors'],
  cli: ['compose', 'core', 'errors', 'http'],
  // get-port's `host` option probes one address, which the Probe interface does not offer.
  'get-port': ['adapters', 'compose', 'core', 'errors'],
  // berth-ports/vitest, berth-ports/jest, berth-ports/playwright: the runners' conventions over compose's test run.
  runners: ['compose', 'core', 'errors'],
};

/** Node's modules that are pure computation; every other built-in does I/O (or reads the clock or randomness). */
const PURE_BUILTINS = new Set([
  'assert',
  'assert/strict',
  'path',
  'path/posix',
  'path/win32',
  'util',
  'util/types',
]);

/** The source files (tests excluded) under `folder`, relative to src/. */
function sources(folder: string): string[] {
  return readdirSync(join(SRC, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(folder, f));
}

/** Every module a file imports (static, type-only, re-exported or dynamic), as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The layer a relative specifier lands in: the folder under src/, or `errors` / `index` for the root files. */
function layerOf(file: string, specifier: string): string {
  const target = relative(SRC, resolve(join(SRC, dirname(file)), specifier));
  const [first] = target.split(/[\\/]/);
  return first!.replace(/\.js$/, '');
}

/** The imports of `folder`'s files that break its row of {@link ALLOWED}, as `file -> specifier`. */
function violations(folder: string): string[] {
  const allowed = new Set([folder, ...ALLOWED[folder]!]);
  return sources(folder).flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('.') && !allowed.has(layerOf(file, spec)))
      .map((spec) => `${file} -> ${spec}`),
  );
}

describe('layering (ARCHITECTURE.md)', () => {
  it('finds the imports it checks, dynamic and type-only ones included', () => {
    expect(importsOf('compose/context.ts')).toContain('../adapters/health/check.js');
    expect(importsOf('compose/context.ts')).toContain('../core/facts.js');
  });

  it('keeps src/cli and src/http off the adapters: they reach the machine through src/compose', () => {
    expect([...violations('cli'), ...violations('http')]).toEqual([]);
  });

  for (const folder of Object.keys(ALLOWED)) {
    it(`src/${folder} imports only ${ALLOWED[folder]!.join(', ')} besides itself`, () => {
      expect(violations(folder)).toEqual([]);
    });
  }

  it('keeps src/core pure: no Node module that does I/O', () => {
    const io = sources('core').flatMap((file) =>
      importsOf(file)
        .filter((spec) => !spec.startsWith('.'))
        .filter((spec) => {
          const name = spec.replace(/^node:/, '');
          return builtinModules.includes(name) && !PURE_BUILTINS.has(name);
        })
        .map((spec) => `${file} -> ${spec}`),
    );
    expect(io).toEqual([]);
  });

  it('reaches src/adapters from compose only through its wiring (context.ts builds the Adapters, preload.ts warms them)', () => {
    const wiring = new Set(['compose/context.ts', 'compose/preload.ts']);
    const reaching = sources('compose')
      .filter((file) => !wiring.has(file))
      .flatMap((file) =>
        importsOf(file)
          .filter((spec) => spec.startsWith('.') && layerOf(file, spec) === 'adapters')
          .map((spec) => `${file} -> ${spec}`),
      );
    expect(reaching).toEqual([]);
  });

  it('keeps src/errors.ts at the bottom: it imports nothing of berth', () => {
    expect(importsOf('errors.ts').filter((spec) => spec.startsWith('.'))).toEqual([]);
  });
});
