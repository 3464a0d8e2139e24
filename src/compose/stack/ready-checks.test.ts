import { describe, expect, it } from 'vitest';
import { OutputMatcher, withoutColours } from './ready-checks.js';

describe('withoutColours', () => {
  it('removes colour codes and other escape sequences', () => {
    expect(
      withoutColours('\u001b[1m\u001b[32mVITE\u001b[39m\u001b[22m ready in \u001b[1m200\u001b[22m ms'),
    ).toBe('VITE ready in 200 ms');
    expect(withoutColours('\u001b]8;;http://x\u0007link\u001b]8;;\u0007')).toBe('link');
  });
});

describe('OutputMatcher', () => {
  it('is ready at the first matching line, matched without colours, and says what it waits for before', async () => {
    const m = new OutputMatcher('ready to accept connections$');
    expect(m.probe()).toEqual({
      state: 'waiting',
      reason: 'no line of its output matches /ready to accept connections$/ yet',
    });
    m.push('database system is ready to accept connections, almost');
    expect(m.probe().state).toBe('waiting');
    m.push('database system is \u001b[1mready to accept connections\u001b[0m');
    await m.matched;
    expect(m.probe()).toEqual({ state: 'ready' });
  });
});
