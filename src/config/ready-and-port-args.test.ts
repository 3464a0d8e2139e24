/**
 * The keys of issue 18 through the whole validation (schema, normalise, rules,
 * resolve): `ready` as a command or an output check, and `portArgs`. Every
 * mistake names its path and the fix.
 */
import { describe, expect, it } from 'vitest';
import { formatProblems, validateConfig } from './validate.js';

const ctx = { dir: '/projects/shop', file: null, environment: 'development' };

function check(web: Record<string, unknown>, more: Record<string, unknown> = {}) {
  return validateConfig({ services: { web: { command: 'npm run dev', ...web }, ...more } }, ctx);
}

const run = (web: Record<string, unknown>) => check(web).config!.services.find((s) => s.name === 'web')!.run;
const problems = (web: Record<string, unknown>, more: Record<string, unknown> = {}) =>
  formatProblems(check(web, more).errors);

describe('ready: command', () => {
  it('a string runs in the shell, a list directly; interval and timeout as the other checks', () => {
    expect(run({ ready: { type: 'command', command: 'pg_isready -h 127.0.0.1 -p $PORT' } }).ready).toEqual({
      type: 'command',
      command: { kind: 'shell', line: 'pg_isready -h 127.0.0.1 -p $PORT' },
      intervalMs: 1000,
      timeoutMs: 5000,
    });
    expect(
      run({ ready: { command: ['redis-cli', '-p', '{port}', 'ping'], intervalMs: 250, timeoutMs: 900 } })
        .ready,
    ).toEqual({
      type: 'command',
      command: { kind: 'exec', argv: ['redis-cli', '-p', '{port}', 'ping'] },
      intervalMs: 250,
      timeoutMs: 900,
    });
  });

  it('a service without a command may have one (berth watches what docker or you start)', () => {
    const { errors, config } = validateConfig(
      { services: { db: { requires: ['tcp'], ready: { command: 'pg_isready -p $PORT' } } } },
      ctx,
    );
    expect(errors).toEqual([]);
    expect(config!.services[0]!.run.ready?.type).toBe('command');
  });

  it('names a missing command, an http key on it, and a command of the wrong type', () => {
    expect(problems({ ready: { type: 'command' } })).toEqual([
      'services.web.ready: a command check needs "command", e.g. "pg_isready -h 127.0.0.1 -p $PORT"',
    ]);
    expect(problems({ ready: { command: 'x', path: '/up' } })).toEqual([
      'services.web.ready.path: path applies to http checks only; remove it or set type: "http"',
    ]);
    expect(problems({ ready: { command: 42 } })).toEqual([
      expect.stringMatching(/^services\.web\.ready\.command: must be a string or a list/),
    ]);
  });
});

describe('health is never a command or output check', () => {
  it('says where such a check belongs', () => {
    const where =
      'Command and output checks go in "ready" (berth up\'s), not in "health", which the daemon runs for any project it reads.';
    expect(problems({ health: { type: 'command', command: 'pg_isready' } })).toEqual([
      `services.web.health.type: "command" is not one of tcp, http. ${where}`,
      `services.web.health.command: unknown key "command". Known keys: type, path, expectStatus, intervalMs, timeoutMs. ${where}`,
    ]);
    expect(problems({ health: { pattern: 'ready' } })).toEqual([
      expect.stringMatching(
        /^services\.web\.health\.pattern: unknown key "pattern"\..* Command and output checks go in "ready"/,
      ),
    ]);
    expect(problems({ health: { type: 'udp' } })).toEqual([
      'services.web.health.type: "udp" is not one of tcp, http.',
    ]);
  });
});

describe('ready: output', () => {
  it('keeps the pattern', () => {
    expect(run({ ready: { pattern: 'ready to accept connections' } }).ready).toEqual({
      type: 'output',
      pattern: 'ready to accept connections',
    });
  });

  it('names a pattern that is no regular expression, with the fix', () => {
    expect(problems({ ready: { type: 'output', pattern: 'listening (on' } })).toEqual([
      expect.stringMatching(
        /^services\.web\.ready\.pattern: is not a regular expression \(.*\); escape the special characters \(\\\. \\\( \\\[\) or write plain text$/,
      ),
    ]);
  });

  it('names keys that do nothing for it, a missing pattern, and both command and pattern', () => {
    expect(problems({ ready: { pattern: 'up', intervalMs: 500 } })).toEqual([
      'services.web.ready.intervalMs: intervalMs does nothing for an output check; remove it (an output check waits for its line, however long)',
    ]);
    expect(problems({ ready: { type: 'output' } })).toEqual([
      'services.web.ready: an output check needs "pattern", e.g. "ready to accept connections"',
    ]);
    expect(problems({ ready: { command: 'x', pattern: 'y' } })).toEqual([
      'services.web.ready: has both command and pattern; keep one, or set type: "command" or "output"',
    ]);
  });

  it('refuses an output check on a service without a command: there is no output to read', () => {
    expect(
      formatProblems(validateConfig({ services: { db: { ready: { pattern: 'ready' } } } }, ctx).errors),
    ).toEqual([
      "services.db.ready: an output check reads the service's own output, and db has no command; use a command or tcp check, or give db a command",
    ]);
  });

  it('a type that is not one of the four is the schema error with the choices', () => {
    expect(problems({ ready: { type: 'log' } })).toEqual([
      expect.stringContaining('services.web.ready.type: "log" is not one of tcp, http, command, output'),
    ]);
  });
});

describe('portArgs', () => {
  it('is true by default; false and a list are kept', () => {
    expect(run({}).portArgs).toBe(true);
    expect(run({ portArgs: false }).portArgs).toBe(false);
    expect(run({ portArgs: ['--listen', '127.0.0.1:{port}'] }).portArgs).toEqual([
      '--listen',
      '127.0.0.1:{port}',
    ]);
  });

  it('names a list without {port}, an empty list and a wrong type, each with the fix', () => {
    expect(problems({ portArgs: ['--port', '3000'] })).toEqual([
      'services.web.portArgs: none of its words has {port}, so berth would add them without the port; write where the port goes, e.g. ["--port", "{port}"], or false to add nothing',
    ]);
    expect(problems({ portArgs: [] })).toEqual([expect.stringMatching(/^services\.web\.portArgs: /)]);
    expect(problems({ portArgs: '--port {port}' })).toEqual([
      expect.stringMatching(/^services\.web\.portArgs: must be/),
    ]);
  });

  it('is not a key that needs a command: berth run uses it too', () => {
    const { warnings, errors } = validateConfig({ services: { web: { portArgs: ['-P', '{port}'] } } }, ctx);
    expect([...errors, ...warnings]).toEqual([]);
  });
});
