import { describe, expect, it } from 'vitest';
import type { NameRoute } from '../../core/names.js';
import { nameEntries, namesPage, notRunningPage, REFUSED_PAGE, rawResponse, wantsJson } from './pages.js';
import { requestHeaders } from './pipe.js';

const route: NameRoute = {
  name: 'web.shop.localhost',
  project: 'shop',
  dir: '/w/shop',
  environment: 'development',
  service: 'web',
  scheme: 'http',
  state: 'live',
  port: 3000,
};

describe('the proxy pages', () => {
  it('lists names as links on the port the client used, escaped, or as JSON', () => {
    const table = new Map([
      [route.name, route],
      ['x.shop.localhost', { ...route, name: 'x.shop.localhost', project: '<b>', state: 'idle' as const }],
    ]);
    const entries = nameEntries(table, 4939);
    expect(entries.map((e) => e.url)).toEqual([
      'http://web.shop.localhost:4939',
      'http://x.shop.localhost:4939',
    ]);
    const html = namesPage('nope.localhost', entries, false);
    expect(html.status).toBe(404);
    expect(html.body).toContain('href="http://web.shop.localhost:4939/"');
    expect(html.body).not.toContain('<b>');
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(JSON.parse(namesPage(null, entries, true).body).data.names).toHaveLength(2);
  });

  it('chooses JSON only when asked before HTML', () => {
    expect(wantsJson('application/json')).toBe(true);
    expect(wantsJson('text/html,application/json')).toBe(false);
    expect(wantsJson(undefined)).toBe(false);
  });

  it('names the service, its port and the command in a 502, with --env for other environments', () => {
    const page = notRunningPage({ ...route, environment: 'staging' }, 'nothing listens there', true);
    const error = JSON.parse(page.body).error;
    expect(page.status).toBe(502);
    expect(error.message).toContain('port 3000');
    expect(error.data.command).toBe('berth up web --env staging');
  });

  it('refuses with a body that names nothing, also as a raw response for upgrades', () => {
    expect(REFUSED_PAGE.status).toBe(403);
    expect(rawResponse(REFUSED_PAGE)).toMatch(
      /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*connection: close\r\n\r\nRefused/,
    );
  });
});

describe('forwarded headers', () => {
  it('drops hop-by-hop headers (and those Connection names), keeps the Host, appends X-Forwarded-*', () => {
    const raw = [
      'Host',
      'web.shop.localhost:4939',
      'Connection',
      'keep-alive, X-Secret',
      'X-Secret',
      '1',
      'Keep-Alive',
      'timeout=5',
      'X-Forwarded-For',
      '10.0.0.1',
      'Accept',
      '*/*',
    ];
    const xf = { for: '127.0.0.1', host: 'web.shop.localhost:4939', proto: 'http', port: 4939 };
    expect(requestHeaders(raw, xf, false)).toEqual([
      'Host',
      'web.shop.localhost:4939',
      'Accept',
      '*/*',
      'x-forwarded-for',
      '10.0.0.1, 127.0.0.1',
      'x-forwarded-host',
      'web.shop.localhost:4939',
      'x-forwarded-proto',
      'http',
      'x-forwarded-port',
      '4939',
    ]);
    const upgrade = requestHeaders(
      ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket'],
      { ...xf, proto: 'ws' },
      true,
    );
    expect(upgrade.slice(0, 6)).toEqual(['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket']);
  });
});
