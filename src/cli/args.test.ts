import { describe, expect, it } from 'vitest';
import { parseCommand, registryArgument } from './args.js';
import { ownArguments } from './own-arguments.js';

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

describe('parseCommand', () => {
  it('says in its own words what a flag lacks, and names the close flag of a typo', () => {
    expect(() => parseCommand('assign', ['--strategy'], { strategy: { type: 'string' } })).toThrow(
      'assign: --strategy needs a value, e.g. --strategy VALUE. Run `berth assign --help` for its options.',
    );
    expect(() => parseCommand('assign', ['--stratgy', 'x'], { strategy: { type: 'string' } })).toThrow(
      'assign: unknown option --stratgy (did you mean --strategy?). Run',
    );
    expect(() => parseCommand('ls', ['--bogus'], {})).toThrow(/^ls: unknown option --bogus\. Run/);
  });
});

describe('registryArgument', () => {
  it.each([
    [['ls', '--registry', 'etcd://a:2379'], 'etcd://a:2379'],
    [['ls', '--registry=etcd://b:2379/team'], 'etcd://b:2379/team'],
    [['run', 'web', '--', 'tool', '--registry', 'x'], undefined],
    [['ls'], undefined],
  ])('%j -> %s: berth’s own flag only', (argv, registry) => {
    expect(registryArgument(argv)).toBe(registry);
  });
});
