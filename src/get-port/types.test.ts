/**
 * berth-ports/get-port's types are get-port 7's: the same exports, the same signatures and
 * the same `Options`, compared with get-port's own index.d.ts (a devDependency). The
 * `expectTypeOf` checks are checked by `tsc --noEmit` (npm test); vitest runs the file
 * too, so a missing export also fails at run time.
 */
import type * as upstream from 'get-port';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as entry from './index.js';
import getPort, { clearLockedPorts, type Options, portNumbers } from './index.js';

describe('berth-ports/get-port types', () => {
  it("are get-port's, export for export", () => {
    expectTypeOf<keyof typeof entry>().toEqualTypeOf<keyof typeof upstream>();
    expectTypeOf(getPort).toEqualTypeOf<typeof upstream.default>();
    expectTypeOf(portNumbers).toEqualTypeOf<typeof upstream.portNumbers>();
    expectTypeOf(clearLockedPorts).toEqualTypeOf<typeof upstream.clearLockedPorts>();
    expectTypeOf<Options>().toEqualTypeOf<upstream.Options>();
    expect(Object.keys(entry).sort()).toEqual(['clearLockedPorts', 'default', 'portNumbers']);
  });

  it('accept what get-port accepts', () => {
    expectTypeOf(getPort).toBeCallableWith();
    expectTypeOf(getPort).toBeCallableWith({ port: 3000 });
    expectTypeOf(getPort).toBeCallableWith({ port: [3000, 3001], exclude: new Set([3002]) });
    expectTypeOf(getPort).toBeCallableWith({
      port: portNumbers(3000, 3100),
      host: '127.0.0.1',
      reserve: true,
    });
    expectTypeOf(getPort).toBeCallableWith({ ipv6Only: true, backlog: 5, exclusive: true });
    expectTypeOf(getPort).returns.resolves.toEqualTypeOf<number>();
    expectTypeOf(portNumbers).returns.toEqualTypeOf<Iterable<number>>();
  });

  it('refuse what get-port refuses', () => {
    // @ts-expect-error a port is a number, not a string
    expectTypeOf(getPort).toBeCallableWith({ port: '3000' });
    // @ts-expect-error exclude is an iterable of numbers
    expectTypeOf(getPort).toBeCallableWith({ exclude: 3000 });
    // @ts-expect-error berth's own options (range, label, home) are not get-port's
    expectTypeOf(getPort).toBeCallableWith({ range: [3000, 3999] });
  });
});
