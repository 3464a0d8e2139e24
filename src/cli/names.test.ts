/**
 * `"urls": "named"`: which URL `<NAME>_URL` carries, on a fake machine with a
 * real registry; the probe (is the proxy running, does a name resolve here)
 * is the test's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import { createAdapters } from '../compose/context.js';
import { createPortManager, type PortManager } from '../compose/manager.js';
import type { UserConfig } from '../config/define.js';
import { type NamingProbe, namedUrlsFor } from './names.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

async function managerFor(config: UserConfig): Promise<PortManager> {
  const root = mkdtempSync(join(tmpdir(), 'berth-names-cli-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const machine = new FakeMachine();
  const adapters = createAdapters({ home: join(root, 'home'), adapters: machine.adapters() });
  const pm = await createPortManager({ cwd: join(root, 'shop'), config, adapters });
  cleanups.push(() => pm.close());
  return pm;
}

const config = (urls?: 'named' | 'ports'): UserConfig => ({
  project: 'Shop',
  ...(urls ? { urls } : {}),
  services: {
    web: {},
    db: { requires: ['tcp'] },
    websocket: { inheritFrom: 'web', requires: ['websocket'] },
  },
});

const probe = (proxyPort: number | null, unresolved: string[] = []): NamingProbe => ({
  proxy: async () =>
    proxyPort === null
      ? { port: null, why: 'berth serve is not running (start it with `berth serve`)' }
      : { port: proxyPort, why: null },
  resolves: async (host) => !unresolved.includes(host),
});

async function named(urls: 'named' | 'ports' | undefined, p: NamingProbe) {
  const pm = await managerFor(config(urls));
  const warnings: string[] = [];
  const got = await namedUrlsFor(pm, p, (line) => warnings.push(line));
  return { urls: Object.fromEntries(got), warnings };
}

describe('"urls": "named"', () => {
  it('hands out the named URL of every http and websocket service when the proxy runs and the names resolve', async () => {
    expect(await named('named', probe(4939))).toEqual({
      urls: {
        web: 'http://web.shop.localhost:4939',
        websocket: 'ws://websocket.shop.localhost:4939',
      },
      warnings: [],
    });
  });

  it('keeps the port URLs, saying why in one line, when the daemon does not run', async () => {
    expect(await named('named', probe(null))).toEqual({
      urls: {},
      warnings: [
        'berth: <NAME>_URL carries port URLs, not names: berth serve is not running (start it with `berth serve`)',
      ],
    });
  });

  it('keeps the port URLs when one name does not resolve here, naming it and the fix', async () => {
    const { urls, warnings } = await named('named', probe(4939, ['websocket.shop.localhost']));
    expect(urls).toEqual({});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('websocket.shop.localhost does not resolve to this machine here');
    expect(warnings[0]).toContain('berth hosts --write');
  });

  it('asks nothing and says nothing without "urls": "named"', async () => {
    const asked: string[] = [];
    const watching: NamingProbe = {
      proxy: async () => {
        asked.push('proxy');
        return { port: 4939, why: null };
      },
      resolves: async (host) => {
        asked.push(host);
        return true;
      },
    };
    expect(await named(undefined, watching)).toEqual({ urls: {}, warnings: [] });
    expect(await named('ports', watching)).toEqual({ urls: {}, warnings: [] });
    expect(asked).toEqual([]);
  });
});
