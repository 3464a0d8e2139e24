import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and a swap of neighbours as one edit each', () => {
    expect(editDistance('sever', 'server')).toBe(1);
    expect(editDistance('server', 'sever')).toBe(1);
    expect(editDistance('htp', 'http')).toBe(1);
    expect(editDistance('hihg', 'high')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests close candidates only', () => {
    expect(closest('hihg', ['high', 'medium', 'low'])).toBe('high');
    expect(closest('asign', ['assign', 'get', 'ls'])).toBe('assign');
    expect(closest('banana', ['assign', 'get', 'ls'])).toBeNull();
  });
});
