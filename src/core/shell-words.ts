/**
 * Reading a shell line as one simple command: its words, with quotes removed,
 * or why it is more than one command. berth adds a dev server's port
 * arguments to a line only when it is a single command; a line that chains,
 * pipes, backgrounds, substitutes or redirects is left as written, since the
 * arguments could land on the wrong program. Pure: no I/O.
 */

/** A line read as words, or the construct that makes it more than one simple command. */
export type ShellWords = { simple: true; words: string[] } | { simple: false; construct: string };

/** Two-character operators first, so `&&` is not read as `&`. */
const OPERATORS = ['&&', '||', ';;', '>>', '<<', '&>', '>&', '<&', '|&', '&', '|', ';', '<', '>'];

const NAMES: Record<string, string> = {
  '&&': '&&',
  '||': '||',
  '&': '& (background)',
  '|': '| (pipe)',
  '|&': '| (pipe)',
  ';': ';',
  ';;': ';',
};

/** What an operator is called in berth's line: `&&`, `| (pipe)`, `a redirection`. */
function operatorName(op: string): string {
  return NAMES[op] ?? 'a redirection';
}

/**
 * The words of `line` when it is one simple command (assignments and
 * arguments, quoted or not), else the first construct that makes it more:
 * `&&`, `||`, `;`, `& (background)`, `| (pipe)`, `a redirection`,
 * `$(...)`, `` `...` `` (backticks), `a subshell`, `a comment`, `a newline`,
 * `an unclosed quote`. `$VAR` and `${VAR}` stay in the words as written.
 *
 * @example
 * shellWords(`FOO=1 vite --host "0.0.0.0"`) // { simple: true, words: ['FOO=1', 'vite', '--host', '0.0.0.0'] }
 * shellWords('vite && echo done') // { simple: false, construct: '&&' }
 */
export function shellWords(line: string): ShellWords {
  const words: string[] = [];
  let word: string | null = null;
  const end = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      end();
      continue;
    }
    if (c === '\n' || c === '\r') return { simple: false, construct: 'a newline' };
    if (c === '#' && word === null) return { simple: false, construct: 'a comment' };
    if (c === '(' || c === ')') return { simple: false, construct: 'a subshell' };
    if (c === '`') return { simple: false, construct: '`...` (backticks)' };
    if (c === '$' && line[i + 1] === '(') return { simple: false, construct: '$(...)' };
    const op = OPERATORS.find((o) => line.startsWith(o, i));
    if (op !== undefined) return { simple: false, construct: operatorName(op) };
    if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close === -1) return { simple: false, construct: 'an unclosed quote' };
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
      continue;
    }
    if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '`' || (line[j] === '$' && line[j + 1] === '(')) {
          return { simple: false, construct: line[j] === '`' ? '`...` (backticks)' : '$(...)' };
        }
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) j++;
        text += line[j];
      }
      if (j >= line.length) return { simple: false, construct: 'an unclosed quote' };
      word = (word ?? '') + text;
      i = j;
      continue;
    }
    word = (word ?? '') + c;
  }
  end();
  return { simple: true, words };
}

/** True for a shell assignment word such as `NODE_ENV=development`. */
export function isAssignment(word: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*=/.test(word);
}
