/**
 * The package as users get it: `npm pack`, then installed by its name into a fresh
 * project. The CLI and the library entries work from there, and the etcd client is
 * not installed with it (optional peer dependencies): choosing etcd says what to install.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berth, ROOT } from '../helpers.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const { name } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string };

let root = '';
let app = '';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'berth-pack-'));
  // dist/ is built by npm test; --ignore-scripts keeps pack from building it again under the other tests.
  const { stdout } = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {
    cwd: ROOT,
  });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // From npm's cache where it can. Install scripts off: better-sqlite3 would compile for a
  // minute; the addon this checkout built is copied in instead.
  await run(
    npm,
    ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(root, filename)],
    { cwd: app, timeout: 240_000 },
  );
  cpSync(join(ROOT, 'node_modules/better-sqlite3/build'), join(app, 'node_modules/better-sqlite3/build'), {
    recursive: true,
  });
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the packed package, installed by its name into a fresh project', () => {
  it('is berth-ports on npm, and installs the berth command', () => {
    expect(name).toBe('berth-ports');
    expect(readdirSync(join(app, 'node_modules/.bin'))).toContain('berth');
  });

  it('installs without the etcd client', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    expect(installed).toContain(name);
    expect(installed).not.toContain('etcd3');
    expect(installed).not.toContain('@grpc');
  });

  it('runs the berth command and the library entries', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_HOME: join(root, 'home'), NO_COLOR: '1' };
    delete env.BERTH_REGISTRY;
    writeFileSync(join(app, 'berth.config.json'), JSON.stringify({ services: { web: {} } }));
    const assign = await run(join(app, 'node_modules/.bin/berth'), ['assign', '--json'], { cwd: app, env });
    const port = (JSON.parse(assign.stdout) as { services: { web: { port: number } } }).services.web.port;
    expect(port).toBeGreaterThan(0);
    const script = `import { getPort, createPortManager } from '${name}';
      import getPortCompat from '${name}/get-port';
      const a = await getPort(); const b = await getPortCompat();
      const pm = await createPortManager();
      console.log(JSON.stringify({ a, b, web: pm.ports().web }));
      pm.close();`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    const out = JSON.parse(stdout) as { a: number; b: number; web: number };
    expect(out.web).toBe(port);
    expect(out.a).not.toBe(out.b);
  });

  it('choosing etcd without its client fails at once with E_REGISTRY and the npm install line', async () => {
    const env = { ...process.env, BERTH_HOME: join(root, 'home'), BERTH_REGISTRY: 'etcd://127.0.0.1:1' };
    const res = await berth(['ls'], { cwd: app, env, bin: join(app, 'node_modules/.bin/berth') });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('npm install etcd3 cockatiel');
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });
});
