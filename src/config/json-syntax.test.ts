import { describe, expect, it } from 'vitest';
import { locateJsonError } from './json-syntax.js';

describe('locateJsonError', () => {
  it('returns null for valid JSON', () => {
    expect(locateJsonError('{"a": [1, -2.5e3, "x\\n\\u00e9", true, null], "b": {}}')).toBeNull();
  });

  it.each([
    ['{"a": 1,}', 1, 9, 'trailing comma before }'],
    ['{\n  "a": x\n}', 2, 8, 'unexpected "x"; expected a value'],
    ["{'a': 1}", 1, 2, 'strings need double quotes'],
    ['{"a": 1 "b": 2}', 1, 9, 'expected "," or "}"'],
    ['{"a": [1, 2}', 1, 12, 'expected "," or "]"'],
    ['{"a": "open\n}', 1, 7, 'unterminated string'],
    ['{"a": 01}', 1, 8, 'expected "," or "}"'],
    ['{"a": 1', 1, 8, 'unexpected end of file'],
    ['{} {}', 1, 4, 'unexpected text after the end'],
    ['/* c */ {}', 1, 1, 'JSON does not allow comments'],
  ])('%j fails at %i:%i', (text, line, column, message) => {
    const error = locateJsonError(text);
    expect(error).toMatchObject({ line, column });
    expect(error?.message).toContain(message);
  });
});
