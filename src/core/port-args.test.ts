import { describe, expect, it } from 'vitest';
import { DEV_TOOLS } from './dev-tools.js';
import { type PortArgsSetting, planPortArgs } from './port-args.js';
import type { RunCommand } from './types.js';

const PORT = 20001;

const shell = (line: string): RunCommand => ({ kind: 'shell', line });
const exec = (...argv: [string, ...string[]]): RunCommand => ({ kind: 'exec', argv });

function plan(
  command: RunCommand | string,
  scripts: Record<string, string> | null = null,
  setting: PortArgsSetting = true,
) {
  return planPortArgs({
    command: typeof command === 'string' ? shell(command) : command,
    port: PORT,
    setting,
    scripts,
  });
}

/** The line berth runs for a shell command. */
const line = (
  command: string,
  scripts: Record<string, string> | null = null,
  setting: PortArgsSetting = true,
) => {
  const c = plan(command, scripts, setting).command;
  return c.kind === 'shell' ? c.line : c.argv;
};

/**
 * Every record of the table: how a user starts it, and what berth adds (written
 * out by hand, not read from the record, so a wrong record fails).
 */
const ROWS: { tool: string; start: string; adds: string }[] = [
  { tool: 'vite', start: 'vite', adds: '--port 20001 --strictPort' },
  { tool: 'react-router dev', start: 'react-router dev', adds: '--port 20001 --strictPort' },
  { tool: 'remix vite:dev', start: 'remix vite:dev', adds: '--port 20001 --strictPort' },
  { tool: 'astro', start: 'astro dev', adds: '--port 20001' },
  { tool: 'ng serve', start: 'ng serve', adds: '--port 20001' },
  { tool: 'webpack serve', start: 'webpack serve', adds: '--port 20001' },
  { tool: 'webpack-dev-server', start: 'webpack-dev-server', adds: '--port 20001' },
  { tool: 'vue-cli-service serve', start: 'vue-cli-service serve', adds: '' },
  { tool: 'storybook dev', start: 'storybook dev', adds: '-p 20001 --exact-port' },
  { tool: 'start-storybook', start: 'start-storybook', adds: '-p 20001' },
  { tool: 'expo start', start: 'expo start', adds: '--port 20001' },
  { tool: 'react-native start', start: 'react-native start', adds: '--port 20001' },
  { tool: 'gatsby develop', start: 'gatsby develop', adds: '' },
  { tool: 'gatsby serve', start: 'gatsby serve', adds: '-p 20001' },
  { tool: 'docusaurus start', start: 'docusaurus start', adds: '' },
  { tool: 'parcel', start: 'parcel src/index.html', adds: '' },
  { tool: 'next dev', start: 'next dev', adds: '' },
  { tool: 'nuxt dev', start: 'nuxi dev', adds: '' },
  { tool: 'react-scripts start', start: 'react-scripts start', adds: '' },
  { tool: 'ember serve', start: 'ember serve', adds: '' },
  { tool: 'uvicorn', start: 'uvicorn app:app', adds: '--port 20001' },
  { tool: 'fastapi dev', start: 'fastapi dev main.py', adds: '--port 20001' },
  { tool: 'gunicorn', start: 'gunicorn app:app', adds: '' },
  { tool: 'flask run', start: 'flask run', adds: '--port 20001' },
  { tool: 'django runserver', start: 'python manage.py runserver', adds: '20001' },
  { tool: 'rails server', start: 'rails server', adds: '' },
  { tool: 'python -m http.server', start: 'python3 -m http.server', adds: '20001' },
  { tool: 'http-server', start: 'http-server dist', adds: '' },
  { tool: 'serve', start: 'serve dist', adds: '--no-port-switching' },
  { tool: 'mkdocs serve', start: 'mkdocs serve', adds: '--dev-addr 127.0.0.1:20001' },
];

const PYTHON_TOOLS = new Set([
  'uvicorn',
  'fastapi dev',
  'gunicorn',
  'flask run',
  'django runserver',
  'python -m http.server',
  'mkdocs serve',
]);
const RUBY_TOOLS = new Set(['rails server']);

/** The ways of starting `start`, each with the command written and the script it may need. */
function ways(
  start: string,
  tool: string,
): { how: string; command: string; scripts?: Record<string, string>; sep?: boolean }[] {
  const common = [
    { how: 'directly', command: start },
    { how: 'after an assignment', command: `NODE_ENV=development ${start}` },
    { how: 'through env', command: `env DEBUG=1 ${start}` },
  ];
  if (PYTHON_TOOLS.has(tool)) {
    return [
      ...common,
      { how: 'through uv run', command: `uv run ${start}` },
      { how: 'through poetry run', command: `poetry run ${start}` },
    ];
  }
  if (RUBY_TOOLS.has(tool))
    return [...common, { how: 'through bundle exec', command: `bundle exec ${start}` }];
  const dev = { dev: start };
  return [
    ...common,
    { how: 'through npx', command: `npx ${start}` },
    { how: 'through npx -y', command: `npx -y ${start}` },
    { how: 'through pnpm exec', command: `pnpm exec ${start}` },
    { how: 'through yarn (a bin)', command: `yarn ${start}` },
    { how: 'through bunx', command: `bunx ${start}` },
    { how: 'through cross-env', command: `cross-env NODE_ENV=development ${start}` },
    { how: 'as npm run dev', command: 'npm run dev', scripts: dev, sep: true },
    { how: 'as npm start', command: 'npm start', scripts: { start }, sep: true },
    { how: 'as pnpm dev', command: 'pnpm dev', scripts: dev },
    { how: 'as pnpm run dev', command: 'pnpm run dev', scripts: dev },
    { how: 'as yarn dev', command: 'yarn dev', scripts: dev },
    { how: 'as yarn run dev', command: 'yarn run dev', scripts: dev },
    { how: 'as bun run dev', command: 'bun run dev', scripts: dev },
    {
      how: 'as npm run of a script with a prefix',
      command: 'npm run dev',
      scripts: { dev: `cross-env FOO=1 ${start}` },
      sep: true,
    },
  ];
}

describe('the tool table, row by row', () => {
  it('has a row here for every record', () => {
    expect(ROWS.map((r) => r.tool)).toEqual(DEV_TOOLS.map((t) => t.name));
  });

  for (const row of ROWS) {
    describe(row.tool, () => {
      for (const way of ways(row.start, row.tool)) {
        it(`${way.how}: ${way.command}`, () => {
          const result = plan(way.command, way.scripts ?? null);
          expect(result.tool?.name).toBe(row.tool);
          const expected =
            row.adds === '' ? way.command : `${way.command} ${way.sep ? '-- ' : ''}${row.adds}`;
          expect(result.command).toEqual(shell(expected));
          expect(result.args.join(' ')).toBe(row.adds);
        });
      }

      it(`as a list: [${row.start.split(' ').join(', ')}]`, () => {
        const argv = row.start.split(' ') as [string, ...string[]];
        const result = plan(exec(...argv));
        const adds = row.adds === '' ? [] : row.adds.split(' ');
        expect(result.command).toEqual(exec(...argv, ...adds));
      });
    });
  }
});

describe('the line berth prints', () => {
  it('says the tool does not read PORT and what berth added', () => {
    expect(plan('npm run dev', { dev: 'vite' }).message).toBe(
      'vite does not read PORT; running it with --port 20001 --strictPort',
    );
  });

  it('says a tool that reads PORT gets only its strict switch', () => {
    expect(plan('serve dist').message).toBe(
      'serve reads PORT but moves to another port when it is taken; running it with --no-port-switching',
    );
  });

  it('says nothing for a tool that reads PORT and has no switch, or a program berth does not know', () => {
    expect(plan('next dev').message).toBeNull();
    expect(plan('node server.js').message).toBeNull();
    expect(plan('node server.js').tool).toBeNull();
  });
});

describe('a command berth leaves as written', () => {
  it('names the port itself, in every form the tool reads', () => {
    for (const command of ['vite --port 3000', 'vite --port=3000', 'vite --port $PORT', 'next dev -p3000']) {
      const result = plan(command);
      expect(result.command).toEqual(shell(command));
      expect(result.kept?.reason).toBe('named');
    }
    expect(plan('vite --port=3000').message).toBe(
      'the command gives vite its port itself (--port=3000); running it as written',
    );
    expect(plan('npm run dev', { dev: 'vite --port 5000' }).kept).toEqual({
      reason: 'named',
      by: '--port 5000',
    });
    expect(plan('python manage.py runserver 0.0.0.0:8000').kept?.reason).toBe('named');
    expect(plan('python -m http.server 8080').kept?.reason).toBe('named');
  });

  it('is a shell line with an operator, a substitution or a redirection, and says how to give the port', () => {
    for (const command of [
      'vite && echo done',
      'vite || true',
      'vite & wait',
      'vite | tee log',
      'vite; echo',
      'vite --host $(hostname)',
      'vite --host `hostname`',
      'vite > vite.log',
      'vite 2>&1',
    ]) {
      expect(plan(command).command).toEqual(shell(command));
      expect(plan(command).kept?.reason).toBe('shell');
    }
    expect(plan('npm run build && vite preview').message).toBe(
      'the command is a shell line with &&, so berth adds no port arguments; give vite its port in the line (--port $PORT --strictPort)',
    );
  });

  it('runs a script whose body is more than one command', () => {
    const result = plan('npm run dev', { dev: 'tsc -w & vite' });
    expect(result.command).toEqual(shell('npm run dev'));
    expect(result.message).toBe(
      'the "dev" script is a shell line with & (background), so berth adds no port arguments; give vite its port in the line (--port $PORT --strictPort)',
    );
  });

  it('goes through a launcher berth cannot see through', () => {
    for (const command of [
      'npm run dev --workspace web',
      'pnpm --filter web dev',
      'npx -c "vite"',
      'npm run dev',
    ]) {
      expect(plan(command, { other: 'vite' }).command).toEqual(shell(command));
    }
    // A script that runs another script: npm would read the added words as its own flags.
    expect(plan('npm run dev', { dev: 'npm run serve', serve: 'vite' }).kept?.reason).toBe('unread');
  });

  it('is not a server: vite build, next build', () => {
    expect(plan('vite build').tool).toBeNull();
    expect(plan('vite build').command).toEqual(shell('vite build'));
    expect(plan('npm run build', { build: 'next build' }).command).toEqual(shell('npm run build'));
  });
});

describe('finding the tool', () => {
  it('through a path, a versioned npx package, a package whose bin is named otherwise, python -m', () => {
    expect(line('./node_modules/.bin/vite')).toBe('./node_modules/.bin/vite --port 20001 --strictPort');
    expect(line('npx vite@5.4.0 --host')).toBe('npx vite@5.4.0 --host --port 20001 --strictPort');
    expect(line('npx @angular/cli serve')).toBe('npx @angular/cli serve --port 20001');
    expect(line('npx -p @angular/cli ng serve')).toBe('npx -p @angular/cli ng serve --port 20001');
    expect(line('python -m uvicorn app:app')).toBe('python -m uvicorn app:app --port 20001');
    expect(line('python -m flask run')).toBe('python -m flask run --port 20001');
    expect(line('dotenv -e .env.local -- vite')).toBe(
      'dotenv -e .env.local -- vite --port 20001 --strictPort',
    );
  });

  it('vite preview and a root folder are servers; a value flag before the subcommand is skipped', () => {
    expect(line('vite preview')).toBe('vite preview --port 20001 --strictPort');
    expect(line('vite site')).toBe('vite site --port 20001 --strictPort');
    expect(line('vite --mode staging build')).toBe('vite --mode staging build');
  });

  it('npm run with arguments after -- needs no second --', () => {
    expect(line('npm run dev -- --host', { dev: 'vite' })).toBe(
      'npm run dev -- --host --port 20001 --strictPort',
    );
  });

  it('a list command through npm gets -- as its own word', () => {
    expect(plan(exec('npm', 'run', 'dev'), { dev: 'vite' }).command).toEqual(
      exec('npm', 'run', 'dev', '--', '--port', '20001', '--strictPort'),
    );
  });
});

describe('portArgs', () => {
  it('false adds nothing, and still knows the tool (for the wrong-port hint)', () => {
    const result = plan('vite', null, false);
    expect(result.command).toEqual(shell('vite'));
    expect(result.tool?.name).toBe('vite');
    expect(result.kept).toEqual({ reason: 'off' });
    expect(result.message).toBeNull();
  });

  it('a list is added instead of the table, {port} replaced, quoted for the shell', () => {
    const custom = ['--listen', '127.0.0.1:{port}', '--name', 'my app'];
    expect(line('vite', null, custom)).toBe("vite --listen 127.0.0.1:20001 --name 'my app'");
    expect(plan('vite', null, custom).message).toBe(
      "running it with --listen 127.0.0.1:20001 --name 'my app' (portArgs)",
    );
  });

  it('a list goes to a tool berth does not know, through npm with --, and into an argv as words', () => {
    expect(line('npm run dev', { dev: 'my-server' }, ['-P', '{port}'])).toBe('npm run dev -- -P 20001');
    expect(plan(exec('./server', '--verbose'), null, ['--bind=:{port}']).command).toEqual(
      exec('./server', '--verbose', '--bind=:20001'),
    );
  });

  it('a list is not added to a shell line of several commands, and the line says so', () => {
    const result = plan('make && ./server', null, ['-P', '{port}']);
    expect(result.command).toEqual(shell('make && ./server'));
    expect(result.message).toBe(
      'the command is a shell line with &&, so berth adds no port arguments; put them in the line yourself ($PORT is the port)',
    );
  });
});
