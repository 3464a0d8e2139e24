import { describe, expect, it } from 'vitest';
import { isAssignment, shellWords } from './shell-words.js';

describe('shellWords', () => {
  it('reads a simple command into words, quotes removed, variables kept as written', () => {
    expect(shellWords(`FOO=1 vite --host "0.0.0.0" --base '/a b/' x\\ y $PORT`)).toEqual({
      simple: true,
      words: ['FOO=1', 'vite', '--host', '0.0.0.0', '--base', '/a b/', 'x y', '$PORT'],
    });
    expect(shellWords('a "b\\"c" d"e"f')).toEqual({ simple: true, words: ['a', 'b"c', 'def'] });
  });

  it('names the construct that makes a line more than one simple command', () => {
    const cases: [string, string][] = [
      ['a && b', '&&'],
      ['a || b', '||'],
      ['a; b', ';'],
      ['a & b', '& (background)'],
      ['a | b', '| (pipe)'],
      ['a > log', 'a redirection'],
      ['a 2>&1', 'a redirection'],
      ['a < in', 'a redirection'],
      ['a $(b)', '$(...)'],
      ['a "$(b)"', '$(...)'],
      ['a `b`', '`...` (backticks)'],
      ['(a)', 'a subshell'],
      ['a # note', 'a comment'],
      ['a\nb', 'a newline'],
      ['a "b', 'an unclosed quote'],
    ];
    for (const [line, construct] of cases) expect(shellWords(line)).toEqual({ simple: false, construct });
  });

  it('keeps operators inside quotes as text', () => {
    expect(shellWords(`echo "a && b" 'c | d'`)).toEqual({ simple: true, words: ['echo', 'a && b', 'c | d'] });
  });
});

describe('isAssignment', () => {
  it('tells NAME=value from a flag or a word with = later', () => {
    expect(isAssignment('NODE_ENV=dev')).toBe(true);
    expect(isAssignment('--mode=dev')).toBe(false);
    expect(isAssignment('1A=b')).toBe(false);
  });
});
