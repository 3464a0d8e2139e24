/**
 * Playwright's plan (what the lease child computes), in this process against a
 * real registry in a temp folder: the names the caller gives are checked
 * against the config before anything is leased.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reserveBlock } from '../../../test/helpers.js';
import { openRegistry } from '../../adapters/registry/sqlite.js';
import { isBerthError } from '../../errors.js';
import { planWebServers, releasePlanSync, type WebServerRequest } from './web-servers.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A checkout with a web server `web` and a database `db`, and a request for it. */
async function request(extra: Partial<WebServerRequest> = {}): Promise<WebServerRequest> {
  const [web, db] = await reserveBlock(2);
  const root = mkdtempSync(join(tmpdir(), 'berth-web-servers-'));
  roots.push(root);
  const dir = join(root, 'shop');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'berth.config.json'),
    JSON.stringify({
      services: {
        web: { preferred: [web], command: 'node web.js' },
        db: { preferred: [db], requires: ['tcp'], command: 'node db.js' },
      },
    }),
  );
  return {
    cwd: dir,
    environment: 'test',
    services: null,
    reuse: [],
    runner: { pid: process.pid, startTime: null },
    runId: '0123abcd',
    home: join(root, 'home'),
    ...extra,
  };
}

const leasesIn = (home: string) => {
  const registry = openRegistry({ home });
  try {
    return registry.allLeases();
  } finally {
    registry.close();
  }
};

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: unknown) => e as Error,
  );

describe('planWebServers', () => {
  it('plans a server per service with a command', async () => {
    const req = await request({ baseURL: 'web' });
    const plan = await planWebServers(req);
    expect(plan.servers.map((s) => s.name).sort()).toEqual(['db', 'web']);
    releasePlanSync(plan);
    expect(leasesIn(req.home)).toEqual([]);
  });

  it("gives each server its tool's port arguments in the line Playwright runs, and says so", async () => {
    const req = await request();
    writeFileSync(join(req.cwd, 'package.json'), JSON.stringify({ scripts: { dev: 'vite' } }));
    const config = JSON.parse(readFileSync(join(req.cwd, 'berth.config.json'), 'utf8'));
    config.services.web.command = 'npm run dev';
    config.services.db.command = ['npx', 'vite', 'preview'];
    config.services.db.portArgs = false;
    writeFileSync(join(req.cwd, 'berth.config.json'), JSON.stringify(config));
    const plan = await planWebServers(req);
    try {
      const web = plan.servers.find((s) => s.name === 'web')!;
      expect(web.command).toBe(`npm run dev -- --port ${web.port} --strictPort`);
      expect(plan.servers.find((s) => s.name === 'db')!.command).toBe('npx vite preview');
      expect(plan.notes).toContain(
        `web: vite does not read PORT; running it with --port ${web.port} --strictPort`,
      );
    } finally {
      releasePlanSync(plan);
    }
  });

  it('an unknown name in services: E_UNKNOWN_SERVICE naming the option and the known services, no lease', async () => {
    const req = await request({ services: ['nope'] });
    const error = await failure(planWebServers(req));
    expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
    expect(error?.message).toBe(
      'option services names an unknown service "nope". The services of shop are web, db: pass some of those in services.',
    );
    expect(leasesIn(req.home)).toEqual([]);
  });

  it('baseURL: E_UNKNOWN_SERVICE for an unknown name, E_USAGE for a service whose URL is not http(s)', async () => {
    const unknown = await failure(planWebServers(await request({ baseURL: 'nope' })));
    expect(isBerthError(unknown, 'E_UNKNOWN_SERVICE')).toBe(true);
    expect(unknown?.message).toContain('option baseURL names an unknown service "nope".');
    const tcp = await failure(planWebServers(await request({ baseURL: 'db' })));
    expect(isBerthError(tcp, 'E_USAGE')).toBe(true);
    expect(tcp?.message).toContain('Name one of the HTTP services (web) in baseURL');
  });

  it('baseURL without a config: E_UNKNOWN_SERVICE saying no config was found', async () => {
    const req = await request({ baseURL: 'nope' });
    const error = await failure(planWebServers({ ...req, cwd: join(req.home, '..') }));
    expect(isBerthError(error, 'E_UNKNOWN_SERVICE')).toBe(true);
    expect(error?.message).toContain('option baseURL names service "nope", but no berth config was found');
  });
});
