import { describe, expect, it } from 'vitest';
import { envVars, portVariable, urlVariable, variableStem } from './endpoints.js';
import { leaseOnly } from './stack.js';
import type { ServiceSpec } from './types.js';

/**
 * The one naming rule, shared by `<STEM>_PORT` (the config layer's default
 * `portEnv`) and `<STEM>_URL` (the endpoints); validate.test.ts and the `berth env`
 * end-to-end test run camelCase, kebab-case and digits through the other layers.
 */
const STEM_CASES: [name: string, stem: string][] = [
  ['server', 'SERVER'],
  ['webSocket', 'WEB_SOCKET'],
  ['web-socket', 'WEB_SOCKET'],
  ['web_socket', 'WEB_SOCKET'],
  ['api2', 'API2'],
  ['redisCache2', 'REDIS_CACHE2'],
  ['api2Server', 'API2_SERVER'],
  ['HTTPServer', 'HTTP_SERVER'],
  ['my--api', 'MY_API'],
  ['web.socket', 'WEB_SOCKET'],
  ['2fa', '_2FA'],
];

describe('variableStem', () => {
  it.each(STEM_CASES)('%s -> %s', (name, stem) => {
    expect(variableStem(name)).toBe(stem);
    expect(portVariable(name)).toBe(`${stem}_PORT`);
    expect(urlVariable(name)).toBe(`${stem}_URL`);
  });
});

describe('envVars', () => {
  const spec = (name: string, envVar = portVariable(name)): ServiceSpec => ({
    name,
    preferred: [],
    range: null,
    priority: 'medium',
    requires: ['websocket'],
    conflicts: [],
    inheritFrom: null,
    envVar,
    allowPrivileged: false,
    health: null,
    run: leaseOnly('/work/shop'),
  });

  it.each(STEM_CASES)('%s publishes %s_PORT and %s_URL under the same stem', (name, stem) => {
    expect(envVars([spec(name)], new Map([[name, 3000]]))).toEqual([
      [`${stem}_PORT`, '3000'],
      [`${stem}_URL`, 'ws://localhost:3000'],
    ]);
  });

  it('keeps a custom port variable and still names the URL by the stem', () => {
    expect(envVars([spec('webSocket', 'WS')], new Map([['webSocket', 4000]]))).toEqual([
      ['WS', '4000'],
      ['WEB_SOCKET_URL', 'ws://localhost:4000'],
    ]);
  });
});
