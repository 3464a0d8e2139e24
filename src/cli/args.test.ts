import { describe, expect, it } from 'vitest';
import { ownArguments, registryArgument } from './args.js';

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
