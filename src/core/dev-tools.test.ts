/**
 * The README's table of dev servers is this table (dev-tools.ts), row by row:
 * what berth adds and whether the tool keeps to its port. A record changed
 * without its README row (or the reverse) fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEV_TOOLS, type DevTool } from './dev-tools.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Whether it keeps to berth's port when that is taken, in the README's words. */
function strict(tool: DevTool): string {
  if (tool.strictArgs.length > 0) return `yes: \`${tool.strictArgs.join(' ')}\``;
  if (tool.whenTaken === 'fails') return 'yes: it fails by itself';
  return tool.whenTaken === 'moves' ? 'no: it moves to another port' : 'no: it asks to use another port';
}

/** The README row of `tool`. */
function row(tool: DevTool): string {
  const adds = [...tool.portArgs, ...tool.strictArgs];
  const cells = [
    `\`${tool.name}\``,
    tool.readsPort ? 'yes' : 'no',
    adds.length === 0 ? 'nothing' : `\`${adds.join(' ')}\``,
    strict(tool),
    tool.note ?? '',
  ];
  return `| ${cells.join(' | ')} |`.replace(/ +\|$/, ' |');
}

describe("the README's dev server table", () => {
  it('has the rows of dev-tools.ts, in its order, and nothing else', () => {
    const start = README.indexOf('| tool | reads `PORT` | berth adds | keeps to the port | notes |');
    expect(start).toBeGreaterThan(-1);
    const lines = README.slice(start).split('\n');
    const rows = lines.slice(
      2,
      lines.findIndex((l, i) => i > 0 && !l.startsWith('|')),
    );
    expect(rows).toEqual(DEV_TOOLS.map(row));
  });

  it('covers every tool the issue names', () => {
    const names = DEV_TOOLS.map((t) => t.name);
    for (const name of [
      'vite',
      'react-router dev',
      'remix vite:dev',
      'astro',
      'ng serve',
      'webpack serve',
      'webpack-dev-server',
      'storybook dev',
      'expo start',
      'react-native start',
      'gatsby develop',
      'docusaurus start',
      'parcel',
      'next dev',
      'nuxt dev',
      'uvicorn',
      'flask run',
      'django runserver',
      'rails server',
      'python -m http.server',
      'http-server',
      'serve',
    ]) {
      expect(names).toContain(name);
    }
  });
});
