/**
 * `berth hosts [--write] [--json]`: the hosts-file lines that send this
 * checkout's names to loopback, for programs whose resolver does not do it
 * for `*.localhost` (browsers do). `--write` keeps them in a marked block of
 * the hosts file, dropping the names of checkouts that are gone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { berthHome } from '../../compose/context.js';
import { hostsLines, updateHostsText } from '../../core/hosts-block.js';
import { BerthError } from '../../errors.js';
import { noPositionals } from '../args.js';
import { serviceHosts } from '../names.js';
import { projectCommand } from '../project.js';

/** The variable that points `berth hosts --write` at another file (tests, containers). */
export const HOSTS_FILE_VARIABLE = 'BERTH_HOSTS_FILE';

const HELP = `Usage: berth hosts [--write] [--json] [--env NAME]

Prints the hosts-file lines (127.0.0.1 and ::1) for the names of this
checkout's services (web.shop.localhost, ...). Browsers send *.localhost to
loopback themselves; many other programs' resolvers only read the hosts file.

  --write   keep the lines in a marked block of the hosts file
            (/etc/hosts, or $${HOSTS_FILE_VARIABLE}): this checkout's names are
            replaced, those of checkouts that no longer exist removed, and no
            line outside the block is touched. Needs the right to write the file.`;

/** The hosts file of this system, or the one the variable names. */
function hostsFile(): string {
  const given = process.env[HOSTS_FILE_VARIABLE];
  if (given) return given;
  return process.platform === 'win32'
    ? `${process.env.SystemRoot ?? 'C:\\Windows'}\\System32\\drivers\\etc\\hosts`
    : '/etc/hosts';
}

export default projectCommand({
  name: 'hosts',
  help: HELP,
  options: { write: { type: 'boolean' } },
  check: ({ positionals }) => noPositionals('hosts', positionals),
  run: async ({ values, pm, io }) => {
    const names = [...serviceHosts(pm).values()].map((h) => h.host);
    if (!values.write) {
      if (values.json) io.out(JSON.stringify({ names, lines: hostsLines(names) }, null, 2));
      else for (const line of hostsLines(names)) io.out(line);
      return 0;
    }
    const file = hostsFile();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw cannotWrite(file, error);
      text = '';
    }
    const { adapters } = pm;
    const update = updateHostsText(
      text,
      { dir: pm.config.dir, names },
      (dir) => adapters.checkouts.get(dir) !== null && adapters.worktrees.exists(dir),
    );
    if (update.text !== text) {
      try {
        // In place, not a rename: /etc/hosts is often a bind mount (containers) that cannot be replaced.
        writeFileSync(file, update.text);
      } catch (error) {
        throw cannotWrite(file, error);
      }
    }
    if (values.json)
      io.out(JSON.stringify({ file, names, added: update.added, removed: update.removed }, null, 2));
    else {
      io.out(
        `${file}: ${names.length} name${names.length === 1 ? '' : 's'} of ${pm.config.project} in berth's block (${update.added.length} added, ${update.removed.length} removed)`,
      );
    }
    return 0;
  },
});

function cannotWrite(file: string, error: unknown): BerthError {
  const code = (error as NodeJS.ErrnoException).code;
  const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
  return new BerthError(
    'E_REFUSED',
    denied
      ? `cannot write ${file} (${code}). Run it with the right to write the file and the same registry (sudo BERTH_HOME=${berthHome()} npx berth hosts --write), or add the lines \`berth hosts\` prints yourself.`
      : `cannot update ${file}: ${(error as Error).message}. Check the file, or add the lines \`berth hosts\` prints yourself.`,
    { cause: error, data: { file } },
  );
}
