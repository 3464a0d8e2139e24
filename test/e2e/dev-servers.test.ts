/**
 * Dev servers on berth's port, end to end with the built CLI and the real Vite
 * from npm (a dev dependency): a stranger holds 5173 (this test's listener, or
 * whoever already holds it on a busy machine), and Vite, started every way a
 * user starts it, must come up on berth's port, serve the page there, and
 * leave nothing after Ctrl-C. Then the wrong-port warning, and readiness
 * beyond the port with a fake database that binds at once and is ready 2 s
 * later.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readListeners } from '../../src/adapters/net/procnet.js';
import { createProcessTable } from '../../src/adapters/process/table.js';
import { treeListeners } from '../../src/adapters/process/tree-sockets.js';
import { berth, close, listen, ROOT, reserveBlock, type Sandbox, sandbox } from '../helpers.js';
import { eventually, killStarted, startUp, type Up } from '../support/cli-process.js';

const VITE_PORT = 5173;
const processes = createProcessTable();
const boxes: Sandbox[] = [];
let stranger: Server | null = null;

beforeAll(async () => {
  // The stranger on Vite's port: ours on every address, or whoever holds it already.
  for (const host of ['::', '0.0.0.0']) {
    try {
      stranger = await listen(VITE_PORT, host);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return;
    }
  }
});

afterAll(async () => {
  if (stranger) await close(stranger);
});

afterEach(async () => {
  killStarted();
  for (const box of boxes.splice(0)) {
    await berth(['down'], { cwd: box.dir, env: box.env });
    box.cleanup();
  }
});

/** A Vite project: an index page, `dev` = `vite`, the repo's node_modules (the real Vite), a berth config. */
async function viteProject(web: Record<string, unknown>): Promise<Sandbox> {
  const box = sandbox('site');
  boxes.push(box);
  writeFileSync(join(box.dir, 'index.html'), '<!doctype html><h1>berth-served page</h1>\n');
  writeFileSync(
    join(box.dir, 'package.json'),
    JSON.stringify({ name: 'site', private: true, scripts: { dev: 'vite' } }),
  );
  // Vite's cache in the project, not in the repository's node_modules.
  writeFileSync(
    join(box.dir, 'vite.config.mjs'),
    "export default { cacheDir: '.vite-cache', clearScreen: false };\n",
  );
  symlinkSync(join(ROOT, 'node_modules'), join(box.dir, 'node_modules'), 'dir');
  // After Vite's port, ports reserved for this test (test/helpers.ts), not the default pool:
  // another test run on this machine (its own registry) would race it for the pool's first ports.
  const block = await reserveBlock(8);
  box.writeConfig({ services: { web: { preferred: [VITE_PORT, ...block], ...web } } });
  return box;
}

/** berth's port for `service`, from its decision line. */
async function assignedPort(up: Up, service: string): Promise<number> {
  const line = await up.line(new RegExp(`^${service} (assigned|kept) port \\d+`));
  return Number(/port (\d+)/.exec(line)![1]);
}

/** Every pid of the tree below `root` and the ports they listen on. */
async function treeOf(root: number): Promise<{ pids: number[]; ports: number[] }> {
  const found = (await treeListeners(root)) ?? [];
  return {
    pids: [...new Set(found.map((f) => f.pid))],
    ports: [...new Set(found.map((f) => f.port))].sort(),
  };
}

/**
 * Ctrl-C as a terminal sends it (SIGINT to berth's process group), then:
 * every process of the tree is gone and nothing listens on berth's port.
 * Resolves with berth's exit code.
 */
async function interruptLeavesNothing(up: Up, port: number, pids: readonly number[]): Promise<number | null> {
  up.interrupt();
  const code = await up.exit;
  await eventually('the tree is gone', () => pids.every((pid) => processes.owner(pid) === null));
  expect(readListeners()?.some((l) => l.port === port)).toBe(false);
  return code;
}

describe('berth up with the real Vite, a stranger on 5173', () => {
  const ways: [string, unknown][] = [
    ['npm run dev', 'npm run dev'],
    ['a list command (npm run dev)', ['npm', 'run', 'dev']],
    ['npx vite', 'npx vite'],
  ];
  for (const [how, command] of ways) {
    it(`${how}: ready on berth's port, the page served there, nothing on 5173/5174 from the stack, nothing left after Ctrl-C`, async () => {
      const box = await viteProject({ command });
      const up = startUp(box.dir, box.env, [], { group: true });
      const port = await assignedPort(up, 'web');
      expect(port).not.toBe(VITE_PORT);
      await up.line(
        new RegExp(`^web +\\| berth: vite does not read PORT; running it with --port ${port} --strictPort$`),
      );
      await up.line(/^web +\| berth: ready on http:\/\/localhost:\d+/, 30_000);
      const page = await fetch(`http://localhost:${port}/`).then((r) => r.text());
      expect(page).toContain('berth-served page');
      const tree = await treeOf(up.child.pid!);
      expect(tree.ports).toEqual([port]);
      expect(up.err.join('\n')).not.toMatch(/warning/);
      expect(await interruptLeavesNothing(up, port, tree.pids)).toBe(0);
    });
  }

  it('berth run web -- npx vite: the same, and Ctrl-C leaves nothing', async () => {
    const box = await viteProject({});
    // In a group of its own, as a shell runs a job: Ctrl-C reaches berth run and the command alike.
    const run = startUp(box.dir, box.env, ['web', '--', 'npx', 'vite'], { command: 'run', group: true });
    const port = await assignedPort(run, 'web');
    await run.line(
      new RegExp(`^berth: vite does not read PORT; running it with --port ${port} --strictPort$`),
    );
    await run.line(new RegExp(`Local: +http://localhost:${port}/`), 30_000);
    expect(await fetch(`http://localhost:${port}/`).then((r) => r.text())).toContain('berth-served page');
    const tree = await treeOf(run.child.pid!);
    expect(tree.ports).toEqual([port]);
    // berth run exits with the command's code: npx, interrupted, exits 130 (128 + SIGINT).
    expect(await interruptLeavesNothing(run, port, tree.pids)).toBe(130);
  });

  it('berth run web -- npm run dev, SIGTERM to berth alone (a kill, a process manager): vite, which sh leaves running, is stopped too', async () => {
    const box = await viteProject({});
    const run = startUp(box.dir, box.env, ['web', '--', 'npm', 'run', 'dev'], { command: 'run' });
    const port = await assignedPort(run, 'web');
    await run.line(new RegExp(`Local: +http://localhost:${port}/`), 30_000);
    const tree = await treeOf(run.child.pid!);
    expect(tree.ports).toEqual([port]);
    run.child.kill('SIGTERM');
    await run.line(
      /^berth: web: the command exited and left (a process|\d+ processes) running \(pid [\d, ]+\); berth stopped (it|them)$/,
    );
    await run.exit;
    await eventually('the tree is gone', () => tree.pids.every((pid) => processes.owner(pid) === null));
    expect(readListeners()?.some((l) => l.port === port)).toBe(false);
  });

  it('portArgs false: Vite serves elsewhere and the warning names it within 3 s of its bind', async () => {
    const box = await viteProject({ command: 'npx vite', portArgs: false });
    const up = startUp(box.dir, box.env);
    const port = await assignedPort(up, 'web');
    const local = await up.line(/Local: +http:\/\/localhost:\d+\//, 30_000);
    const boundAt = Date.now();
    const vitePort = Number(/localhost:(\d+)/.exec(local)![1]);
    expect(vitePort).not.toBe(port);
    const warning = await up.line(/berth: warning: /, 5_000);
    expect(Date.now() - boundAt).toBeLessThan(3_000);
    expect(warning).toMatch(
      new RegExp(
        `^web +\\| berth: warning: pid \\d+ \\(.*vite.*\\) listens on port ${vitePort}, not on berth's port ${port}: services\\.web has "portArgs": false; remove it so berth adds vite's flags, or write --port \\$PORT --strictPort in the command$`,
      ),
    );
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });

  it('--json: what berth added is a port-args event, and the service is ready on that port', async () => {
    const box = await viteProject({ command: 'npx vite' });
    const up = startUp(box.dir, box.env, ['--json']);
    const ready = JSON.parse(await up.line(/"type":"ready"/, 30_000)) as { port: number };
    // The start that became ready: a racer on the first port makes vite fail (--strictPort)
    // and berth start it again on another, each start with its own event.
    const events = up.out.filter((l) => l.includes('"type":"port-args"')).map((l) => JSON.parse(l));
    const event = events.at(-1) as Record<string, unknown>;
    expect(event).toEqual({
      type: 'port-args',
      service: 'web',
      tool: 'vite',
      args: ['--port', String(ready.port), '--strictPort'],
      message: `vite does not read PORT; running it with --port ${ready.port} --strictPort`,
    });
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });

  it('berth run with portArgs false: the warning names the process of its tree and the port it serves on', async () => {
    const box = await viteProject({ portArgs: false });
    const run = startUp(box.dir, box.env, ['web', '--', 'npx', 'vite'], { command: 'run', group: true });
    const port = await assignedPort(run, 'web');
    const local = await run.line(/Local: +http:\/\/localhost:\d+\//, 30_000);
    const vitePort = Number(/localhost:(\d+)/.exec(local)![1]);
    expect(vitePort).not.toBe(port);
    expect(await run.line(/^berth: warning: /, 5_000)).toMatch(
      new RegExp(
        `^berth: warning: web: pid \\d+ \\(.*vite.*\\) listens on port ${vitePort}, not on berth's port ${port}: services\\.web has "portArgs": false;`,
      ),
    );
    run.interrupt();
    await run.exit;
  });

  it('a command that names its own port is run as written, and the line says so', async () => {
    const [own] = await reserveBlock(1);
    const box = await viteProject({ command: `npx vite --port ${own} --strictPort` });
    const up = startUp(box.dir, box.env);
    await up.line(
      new RegExp(
        `^web +\\| berth: the command gives vite its port itself \\(--port ${own}\\); running it as written$`,
      ),
    );
    await up.line(new RegExp(`^web +\\| berth: starting \`npx vite --port ${own} --strictPort\``));
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });
});

/**
 * A database that binds PORT at once and is ready 2 s later: it prints the
 * line then, and answers every connection with whether it is ready.
 */
const FAKE_DB = `
const net = require('node:net');
let ready = false;
// A probe that connects and resets at once (berth's tcp check) must not bring it down.
net.createServer((s) => { s.on('error', () => {}); s.end(ready ? 'ready' : 'starting'); }).listen(+process.env.PORT, '127.0.0.1', () => {
  console.log('database system is starting up');
  setTimeout(() => { ready = true; console.log('\\u001b[1mLOG:\\u001b[0m database system is ready to accept connections'); }, 2000);
});
`;

/** Asks the database (DB_PORT) whether it is ready, prints the answer, then serves on PORT. */
const DEPENDENT = `
const net = require('node:net');
const s = net.connect(+process.env.DB_PORT, '127.0.0.1');
let answer = '';
s.on('data', (d) => (answer += d));
s.on('error', (e) => { console.log('db said: ' + e.code); });
s.on('close', () => {
  console.log('db said: ' + answer);
  net.createServer((c) => c.end('ok')).listen(+process.env.PORT, '127.0.0.1');
});
`;

/** The ready command: exit 0 when the database answers "ready". */
const CHECK = `
const s = require('node:net').connect(+process.argv[2], '127.0.0.1');
let answer = '';
s.on('data', (d) => (answer += d));
s.on('error', () => process.exit(2));
s.on('close', () => process.exit(answer === 'ready' ? 0 : 1));
`;

describe('readiness beyond the port, with a database that is ready 2 s after it binds', () => {
  async function stack(ready: Record<string, unknown>) {
    const [db, api] = await reserveBlock(2);
    const box = sandbox();
    boxes.push(box);
    writeFileSync(join(box.dir, 'db.js'), FAKE_DB);
    writeFileSync(join(box.dir, 'api.js'), DEPENDENT);
    mkdirSync(join(box.dir, 'bin'));
    writeFileSync(join(box.dir, 'bin', 'check.js'), CHECK);
    box.writeConfig({
      services: {
        db: { preferred: [db], requires: ['tcp'], command: ['node', 'db.js'], ready },
        api: { preferred: [api], requires: ['tcp'], command: 'node api.js', dependsOn: ['db'] },
      },
    });
    return startUp(box.dir, box.env);
  }

  it('output: the dependent starts only after the line', async () => {
    const up = await stack({ pattern: 'ready to accept connections$' });
    expect(await up.line(/^api +\| db said: /, 20_000)).toMatch(/db said: ready$/);
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });

  it('command: the dependent starts only after the check exits 0', async () => {
    const up = await stack({ command: ['node', 'bin/check.js', '{port}'], intervalMs: 200 });
    expect(await up.line(/^api +\| db said: /, 20_000)).toMatch(/db said: ready$/);
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });

  it("output: a listener on the port outside the service's tree (docker's proxy) is no stranger: not moved", async () => {
    const [port] = await reserveBlock(1);
    const box = sandbox();
    boxes.push(box);
    // As `docker run -p $PORT:5432`: a proxy outside the tree binds the port at once, the database says when it is ready.
    writeFileSync(
      join(box.dir, 'proxy.js'),
      "require('node:net').createServer((s) => s.end()).listen(+process.env.PORT, '127.0.0.1');\n",
    );
    writeFileSync(
      join(box.dir, 'container.js'),
      `require('node:child_process').spawn('sh', ['-c', 'node proxy.js &'], { stdio: 'ignore' });
setTimeout(() => console.log('database system is ready to accept connections'), 2000);
setInterval(() => {}, 1000);
`,
    );
    box.writeConfig({
      services: {
        db: {
          preferred: [port],
          requires: ['tcp'],
          command: 'node container.js',
          ready: { pattern: 'ready to accept' },
        },
      },
    });
    const up = startUp(box.dir, box.env);
    await up.line(new RegExp(`^db +\\| berth: ready on tcp://localhost:${port} after`), 20_000);
    expect(up.err.join('\n')).not.toMatch(/moved|warning/);
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });

  it('(the control) a tcp check alone lets the dependent start while the database is still starting', async () => {
    const up = await stack({ type: 'tcp' });
    expect(await up.line(/^api +\| db said: /, 20_000)).toMatch(/db said: starting$/);
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(0);
  });
});
