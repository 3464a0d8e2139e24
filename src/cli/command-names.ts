/**
 * The CLI's command names: main.ts maps each to its module (its map is typed by this
 * list, so the two cannot differ), and the bin's start keeps one code cache per command,
 * since a cache holds only the functions of the run that wrote it.
 */
export const COMMAND_NAMES = [
  'init',
  'assign',
  'get',
  'ls',
  'release',
  'env',
  'run',
  'up',
  'down',
  'check',
  'wait',
  'who',
  'free',
  'serve',
  'hosts',
  'registry',
] as const;

/** One of {@link COMMAND_NAMES}. */
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Whether `name` is one of {@link COMMAND_NAMES} (not an Object.prototype key such as `toString`). */
export function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}
