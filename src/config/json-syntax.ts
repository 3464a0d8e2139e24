/**
 * Finds where a JSON text goes wrong. `JSON.parse` does the parsing; Node 20's
 * messages often give no position ("Unexpected token 'x', ... is not valid
 * JSON"), so on failure this small scanner walks the text to name the line and
 * column and to explain the usual mistakes (comments, trailing commas, single
 * quotes).
 */

/** A syntax error located in the text. */
export interface JsonSyntaxError {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  message: string;
}

class Fail extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

class Scanner {
  i = 0;
  constructor(private readonly text: string) {}

  private fail(message: string, offset = this.i): never {
    throw new Fail(offset, message);
  }

  private unexpected(expected: string): never {
    const ch = this.text[this.i];
    if (ch === undefined) this.fail(`unexpected end of file; expected ${expected}`);
    if (ch === '/') this.fail('JSON does not allow comments; remove them or use berth.config.yaml');
    if (ch === "'") this.fail('strings need double quotes in JSON');
    this.fail(`unexpected ${JSON.stringify(ch)}; expected ${expected}`);
  }

  ws(): void {
    while (/[ \t\r\n]/.test(this.text[this.i] ?? '')) this.i++;
  }

  value(): void {
    this.ws();
    const ch = this.text[this.i];
    if (ch === '{') this.object();
    else if (ch === '[') this.array();
    else if (ch === '"') this.string();
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) this.number();
    else if (!this.literal()) this.unexpected('a value');
  }

  private literal(): boolean {
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return true;
      }
    }
    return false;
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] === '}') this.fail('trailing comma before }; remove it');
      if (this.text[this.i] !== '"') this.unexpected('a "quoted" key');
      this.string();
      this.ws();
      if (this.text[this.i] !== ':') this.unexpected('":" after the key');
      this.i++;
      this.value();
      this.ws();
      if (this.text[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.text[this.i] === '}') {
        this.i++;
        return;
      }
      this.unexpected('"," or "}"');
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] === ']') this.fail('trailing comma before ]; remove it');
      this.value();
      this.ws();
      if (this.text[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.text[this.i] === ']') {
        this.i++;
        return;
      }
      this.unexpected('"," or "]"');
    }
  }

  private string(): void {
    const start = this.i;
    this.i++;
    for (;;) {
      const ch = this.text[this.i];
      if (ch === undefined || ch === '\n') this.fail('unterminated string', start);
      if (ch === '"') {
        this.i++;
        return;
      }
      if (ch < ' ') this.fail('control character in string; escape it');
      if (ch === '\\') {
        const next = this.text[this.i + 1] ?? '';
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) this.fail('bad \\u escape');
          this.i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(next) || next === '') this.fail(`bad escape \\${next}`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
  }

  private number(): void {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i));
    if (match === null) this.fail('malformed number');
    this.i += match[0].length;
  }
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Where `text` stops being valid JSON, or `null` if it is valid.
 *
 * @example
 * locateJsonError('{\n  "a": 1,\n}') // { line: 3, column: 1, message: 'trailing comma before }; remove it' }
 */
export function locateJsonError(text: string): JsonSyntaxError | null {
  const scanner = new Scanner(text);
  try {
    scanner.value();
    scanner.ws();
    if (scanner.i < text.length) throw new Fail(scanner.i, 'unexpected text after the end of the JSON value');
    return null;
  } catch (error) {
    if (!(error instanceof Fail)) throw error;
    return { ...position(text, error.offset), message: error.message };
  }
}
