/**
 * The dev servers berth knows, as data: one record per tool, saying how berth
 * recognises it in a command, which flags already name its port, what berth
 * adds so it listens on berth's port (its port flag, unless it reads PORT, and
 * its strict switch, which makes it fail instead of moving when the port is
 * taken), and what it does when the port is taken. `port-args.ts` reads a
 * command against this table; the README's table is this one. Adding a tool
 * is adding a record (and its row in port-args.test.ts and the README).
 */

/** What a tool does when its port is taken, with berth's arguments added. */
export type WhenTaken = 'fails' | 'moves' | 'asks';

/** One dev server berth knows. */
export interface DevTool {
  /** How berth's lines and the README name it: `vite`, `ng serve`. */
  name: string;
  /**
   * The program names that run it: a bin (`vite`), a Python module run with
   * `python -m` (`http.server`), or a script run with `python` (`manage.py`).
   */
  programs: readonly string[];
  /** npm packages that install the bin under another name, for `npx <package>` (`@angular/cli` runs `ng`). */
  packages?: readonly string[];
  /**
   * The subcommands that start the server, as the first word that is not a
   * flag (`null`: no such word). Absent: any invocation but {@link notCommands}.
   */
  commands?: readonly (string | null)[];
  /** Subcommands that do not serve (`vite build`): berth leaves them alone. */
  notCommands?: readonly string[];
  /** Flags that take a value before the subcommand (`vite --mode dev`), skipped when looking for it. */
  valueFlags?: readonly string[];
  /** Flags that name the port: a command that has one is left as written. */
  portFlags: readonly string[];
  /** The port is a word after the subcommand (`runserver 8000`, `runserver 0.0.0.0:8000`). */
  positionalPort?: boolean;
  /** What berth adds for the port, `{port}` replaced; empty for a tool that reads PORT. */
  portArgs: readonly string[];
  /** The switch that makes it fail instead of moving to another port; empty when it has none. */
  strictArgs: readonly string[];
  /** Whether it takes its port from the PORT variable when no flag names one. */
  readsPort: boolean;
  /** What it does when the port is taken, with berth's arguments. */
  whenTaken: WhenTaken;
  /** A caveat the README's table shows, or absent. */
  note?: string;
  /** Where its flags and behaviour were read (its CLI source or reference). */
  source: string;
}

const VITE_VALUE_FLAGS = ['-c', '--config', '--base', '-l', '--logLevel', '--configLoader', '-m', '--mode'];

/**
 * The table. Order matters only between records of one program: the first
 * whose subcommand matches wins.
 */
export const DEV_TOOLS: readonly DevTool[] = [
  {
    name: 'vite',
    programs: ['vite'],
    notCommands: ['build', 'optimize'],
    valueFlags: [...VITE_VALUE_FLAGS, '-f', '--filter'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: ['--strictPort'],
    readsPort: false,
    whenTaken: 'fails',
    note: 'also `vite preview`, and SvelteKit (`vite dev`)',
    source: 'vite/dist/node/cli.js (vite 8): `--port <port>`, `--strictPort` on dev and preview',
  },
  {
    name: 'react-router dev',
    programs: ['react-router'],
    packages: ['@react-router/dev'],
    notCommands: ['build', 'routes', 'reveal', 'typegen'],
    valueFlags: VITE_VALUE_FLAGS,
    portFlags: ['--port', '-p'],
    portArgs: ['--port', '{port}'],
    strictArgs: ['--strictPort'],
    readsPort: false,
    whenTaken: 'fails',
    source: 'react-router packages/react-router-dev/cli/run.ts: `--port`, `-p`, `--strictPort`',
  },
  {
    name: 'remix vite:dev',
    programs: ['remix'],
    packages: ['@remix-run/dev'],
    commands: ['vite:dev'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: ['--strictPort'],
    readsPort: false,
    whenTaken: 'fails',
    source: "Remix 2's `remix vite:dev` takes Vite's dev flags: `--port`, `--strictPort`",
  },
  {
    name: 'astro',
    programs: ['astro'],
    commands: ['dev', 'preview'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'moves',
    note: '`astro dev` and `astro preview`',
    source: 'astro/dist/cli/dev/index.js: `--port`; Vite underneath moves to the next port',
  },
  {
    name: 'ng serve',
    programs: ['ng'],
    packages: ['@angular/cli'],
    commands: ['serve', 's', 'dev'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'asks',
    source: 'Angular CLI `ng serve --port`; a taken port is a prompt on a terminal, an error without one',
  },
  {
    name: 'webpack serve',
    programs: ['webpack', 'webpack-cli'],
    packages: ['webpack-cli'],
    commands: ['serve', 'server', 's'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    source: 'webpack-dev-server `--port`; an explicit port that is taken is EADDRINUSE',
  },
  {
    name: 'webpack-dev-server',
    programs: ['webpack-dev-server'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    source: 'webpack-dev-server `--port`; an explicit port that is taken is EADDRINUSE',
  },
  {
    name: 'vue-cli-service serve',
    programs: ['vue-cli-service'],
    packages: ['@vue/cli-service'],
    commands: ['serve'],
    portFlags: ['--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'moves',
    source: '@vue/cli-service lib/commands/serve.js: `args.port || process.env.PORT`, then portfinder',
  },
  {
    name: 'storybook dev',
    programs: ['storybook', 'sb'],
    commands: ['dev'],
    valueFlags: ['-c', '--config-dir', '-h', '--host'],
    portFlags: ['-p', '--port'],
    portArgs: ['-p', '{port}'],
    strictArgs: ['--exact-port'],
    readsPort: false,
    whenTaken: 'fails',
    note: '`--exact-port` is Storybook 8 on; for an older one set `portArgs: ["-p", "{port}"]`',
    source: 'storybook.js.org/docs/api/cli-options: `-p, --port`, `--exact-port`',
  },
  {
    name: 'start-storybook',
    programs: ['start-storybook'],
    portFlags: ['-p', '--port'],
    portArgs: ['-p', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'asks',
    note: 'Storybook 6',
    source: 'storybook.js.org/docs/6.0/api/cli-options: `-p, --port`',
  },
  {
    name: 'expo start',
    programs: ['expo'],
    packages: ['expo', '@expo/cli'],
    commands: [null, 'start'],
    portFlags: ['--port', '-p'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'asks',
    source: '@expo/cli start `--port, -p` (it reads RCT_METRO_PORT, not PORT)',
  },
  {
    name: 'react-native start',
    programs: ['react-native'],
    packages: ['react-native', '@react-native-community/cli'],
    commands: ['start'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'asks',
    source: '@react-native/community-cli-plugin start `--port` (RCT_METRO_PORT, not PORT)',
  },
  {
    name: 'gatsby develop',
    programs: ['gatsby'],
    commands: ['develop'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'asks',
    source: 'gatsby-cli src/create-cli.ts: develop `-p` defaults to `process.env.PORT`',
  },
  {
    name: 'gatsby serve',
    programs: ['gatsby'],
    commands: ['serve'],
    portFlags: ['-p', '--port'],
    portArgs: ['-p', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'asks',
    source: 'gatsby-cli src/create-cli.ts: serve `-p` defaults to 9000',
  },
  {
    name: 'docusaurus start',
    programs: ['docusaurus'],
    packages: ['@docusaurus/core'],
    commands: ['start', 'serve'],
    portFlags: ['--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'asks',
    note: 'and `docusaurus serve`',
    source: '@docusaurus/utils constants.ts: DEFAULT_PORT is `process.env.PORT`; getHostPort.ts prompts',
  },
  {
    name: 'parcel',
    programs: ['parcel'],
    notCommands: ['build', 'watch', 'help'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'fails',
    source: 'parcel lib/cli.js: `--port` defaults to `$PORT`; a port given that is taken is an error',
  },
  {
    name: 'next dev',
    programs: ['next'],
    commands: ['dev', 'start'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'fails',
    note: 'and `next start`',
    source: 'next src/cli/next-dev.ts: with PORT set, `allowRetry` is false',
  },
  {
    name: 'nuxt dev',
    programs: ['nuxi', 'nuxt'],
    packages: ['nuxi', '@nuxt/cli'],
    commands: ['dev'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'moves',
    source: 'nuxt/cli commands/dev.ts: `NUXT_PORT || NITRO_PORT || PORT`; listhen picks another port',
  },
  {
    name: 'react-scripts start',
    programs: ['react-scripts'],
    commands: ['start'],
    portFlags: [],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'asks',
    source: 'react-scripts scripts/start.js: `process.env.PORT`, then react-dev-utils choosePort',
  },
  {
    name: 'ember serve',
    programs: ['ember'],
    packages: ['ember-cli'],
    commands: ['serve', 'server', 's'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'fails',
    source: 'ember-cli lib/commands/serve.js: `--port` defaults to `process.env.PORT`',
  },
  {
    name: 'uvicorn',
    programs: ['uvicorn'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    note: 'also `python -m uvicorn`',
    source: 'uvicorn `--port` (UVICORN_PORT, not PORT)',
  },
  {
    name: 'fastapi dev',
    programs: ['fastapi'],
    commands: ['dev', 'run'],
    portFlags: ['--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    note: 'and `fastapi run`',
    source: 'fastapi-cli `--port`',
  },
  {
    name: 'gunicorn',
    programs: ['gunicorn'],
    portFlags: ['-b', '--bind'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'fails',
    source: 'gunicorn settings `bind`: `0.0.0.0:$PORT` when PORT is set',
  },
  {
    name: 'flask run',
    programs: ['flask'],
    commands: ['run'],
    valueFlags: ['-A', '--app', '-e', '--env-file'],
    portFlags: ['-p', '--port'],
    portArgs: ['--port', '{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    note: 'also `python -m flask run`',
    source: 'flask `run --port` (FLASK_RUN_PORT, not PORT)',
  },
  {
    name: 'django runserver',
    programs: ['manage.py', 'django-admin'],
    commands: ['runserver', 'runserver_plus'],
    portFlags: [],
    positionalPort: true,
    portArgs: ['{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    note: "`python manage.py runserver`; the port alone keeps Django's address, 127.0.0.1",
    source: 'django core/management/commands/runserver.py: `[addrport]`',
  },
  {
    name: 'rails server',
    programs: ['rails'],
    commands: ['server', 's'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'fails',
    source: 'railties server command: port defaults to `ENV["PORT"]`',
  },
  {
    name: 'python -m http.server',
    programs: ['http.server'],
    portFlags: [],
    positionalPort: true,
    portArgs: ['{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    source: 'CPython Lib/http/server.py: `port` is a positional argument',
  },
  {
    name: 'http-server',
    programs: ['http-server'],
    portFlags: ['-p', '--port'],
    portArgs: [],
    strictArgs: [],
    readsPort: true,
    whenTaken: 'fails',
    source:
      'http-server bin/http-server (14): `argv.p || argv.port || process.env.PORT`, portfinder only without one',
  },
  {
    name: 'serve',
    programs: ['serve'],
    portFlags: ['-l', '--listen', '-p'],
    portArgs: [],
    strictArgs: ['--no-port-switching'],
    readsPort: true,
    whenTaken: 'moves',
    note: 'serve 14 ignores `--no-port-switching` (vercel/serve#751): berth sees the stranger and moves the service instead',
    source: 'serve build/main.js (14.2): `env.PORT` when no `--listen`; `--no-port-switching`',
  },
  {
    name: 'mkdocs serve',
    programs: ['mkdocs'],
    commands: ['serve'],
    portFlags: ['-a', '--dev-addr'],
    portArgs: ['--dev-addr', '127.0.0.1:{port}'],
    strictArgs: [],
    readsPort: false,
    whenTaken: 'fails',
    source: 'mkdocs `serve -a, --dev-addr <IP:PORT>`',
  },
];
