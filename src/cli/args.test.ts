import { describe, expect, it } from 'vitest';
import { ownArguments } from './args.js';

describe('ownArguments', () => {
  it.each([
    [
      ['assign', '--json'],
      ['assign', '--json'],
    ],
    [
      ['run', 'server', '--', 'tool', '--json'],
      ['run', 'server'],
    ],
    [
      ['run', 'server', '--json', '--', 'tool', '--', '--json'],
      ['run', 'server', '--json'],
    ],
    [['run', '--'], ['run']],
  ])('%j -> %j: only what comes before the first -- is berth’s', (argv, own) => {
    expect(ownArguments(argv)).toEqual(own);
  });
});
