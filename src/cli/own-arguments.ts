/**
 * The split of berth's own arguments from a command's: apart from args.ts so the bin's
 * start (start.ts) can use it without the argument parser.
 */

/**
 * berth's own arguments: those before the first `--`. What follows belongs to
 * the command `berth run` starts, so its `--json` or `-e` is never berth's.
 *
 * @example
 * ownArguments(['run', 'server', '--', 'tool', '--json']) // ['run', 'server']
 */
export function ownArguments(argv: readonly string[]): readonly string[] {
  const split = argv.indexOf('--');
  return split === -1 ? argv : argv.slice(0, split);
}
