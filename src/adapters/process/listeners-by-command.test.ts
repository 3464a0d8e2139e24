import { describe, expect, it } from 'vitest';
import { isBerthError } from '../../errors.js';
import {
  type CommandResult,
  type CommandRunner,
  listListenersByCommand,
  runCommand,
} from './listeners-by-command.js';

const LSOF_3000 = 'p4242\ncnode\nu501\nLada\nf23\nn*:3000\n';
const DARWIN_NETSTAT = [
  'Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)     rhiwat shiwat    pid   epid  state    options',
  'tcp4       0      0  127.0.0.1.3000         *.*                    LISTEN      131072 131072    999      0 0x0080 0x00000006',
  'tcp4       0      0  127.0.0.1.4000         *.*                    LISTEN      131072 131072    998      0 0x0080 0x00000006',
].join('\n');
const WINDOWS_NETSTAT = [
  '  Proto  Local Address          Foreign Address        State           PID',
  '  TCP    0.0.0.0:3000           0.0.0.0:0              LISTENING       1234',
  '  TCP    [::]:3000              [::]:0                 LISTENING       1234',
  '  TCP    0.0.0.0:4000           0.0.0.0:0              LISTENING       5678',
].join('\r\n');

/** A runner that answers from a table keyed by the command name, and records every call. */
function fakeRunner(answers: Record<string, CommandResult>): { run: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  const run: CommandRunner = async (file, args) => {
    calls.push([file, ...args]);
    return answers[file] ?? { state: 'missing' };
  };
  return { run, calls };
}

describe('listListenersByCommand', () => {
  it('asks lsof with an argument array for exactly that port', async () => {
    const { run, calls } = fakeRunner({ lsof: { state: 'ran', exitCode: 0, stdout: LSOF_3000 } });
    const found = await listListenersByCommand(3000, { platform: 'darwin', run });
    expect(found).toEqual([{ pid: 4242, command: 'node', user: 'ada', uid: 501, address: '*', port: 3000 }]);
    expect(calls).toEqual([['lsof', '-nP', '-iTCP:3000', '-sTCP:LISTEN', '-F', 'pcLun']]);
  });

  it("on macOS asks netstat as well when lsof sees nothing (lsof hides other users' sockets)", async () => {
    const { run, calls } = fakeRunner({
      lsof: { state: 'ran', exitCode: 1, stdout: '' },
      netstat: { state: 'ran', exitCode: 0, stdout: DARWIN_NETSTAT },
    });
    const found = await listListenersByCommand(3000, { platform: 'darwin', run });
    expect(found.map(({ pid, address }) => [pid, address])).toEqual([[999, '127.0.0.1']]);
    expect(calls.map(([file, ...args]) => [file, args.join(' ')])).toEqual([
      ['lsof', '-nP -iTCP:3000 -sTCP:LISTEN -F pcLun'],
      ['netstat', '-anv -p tcp'],
    ]);
  });

  it('on Windows goes straight to netstat -ano (IPv4 and IPv6) and keeps only the port asked for', async () => {
    const { run, calls } = fakeRunner({ netstat: { state: 'ran', exitCode: 0, stdout: WINDOWS_NETSTAT } });
    const found = await listListenersByCommand(3000, { platform: 'win32', run });
    expect(found.map(({ pid, address }) => [pid, address])).toEqual([
      [1234, '0.0.0.0'],
      [1234, '::'],
    ]);
    expect(calls).toEqual([['netstat', '-ano']]);
  });

  it("treats lsof's exit 1 with no output as nothing listening", async () => {
    const { run } = fakeRunner({ lsof: { state: 'ran', exitCode: 1, stdout: '' } });
    expect(await listListenersByCommand(3000, { platform: 'linux', run })).toEqual([]);
  });

  it('falls back to netstat on macOS when lsof is not installed', async () => {
    const { run } = fakeRunner({ netstat: { state: 'ran', exitCode: 0, stdout: DARWIN_NETSTAT } });
    expect((await listListenersByCommand(4000, { platform: 'darwin', run })).map(({ pid }) => pid)).toEqual([
      998,
    ]);
  });

  it('fails with E_PROBE and the fix when no tool is available', async () => {
    const { run } = fakeRunner({});
    const error = await listListenersByCommand(3000, { platform: 'freebsd', run }).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PROBE')).toBe(true);
    expect((error as Error).message).toMatch(/Install lsof\.$/);
  });

  it('fails with E_PROBE when netstat exits with an error', async () => {
    const { run } = fakeRunner({ netstat: { state: 'ran', exitCode: 2, stdout: '' } });
    const error = await listListenersByCommand(3000, { platform: 'win32', run }).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_PROBE')).toBe(true);
  });

  it.each([0, 65536, 1.5, Number.NaN, -1])(
    'rejects port %s as a usage error before running anything',
    async (port) => {
      const { run, calls } = fakeRunner({});
      const error = await listListenersByCommand(port, { run }).catch((e: unknown) => e);
      expect(isBerthError(error, 'E_USAGE')).toBe(true);
      expect(calls).toEqual([]);
    },
  );
});

describe('runCommand', () => {
  it('returns the output and exit code of a command that ran, without a shell', async () => {
    const result = await runCommand(process.execPath, ['-e', 'process.stdout.write("a;b"); process.exit(3)']);
    expect(result).toEqual({ state: 'ran', exitCode: 3, stdout: 'a;b' });
  });

  it('passes shell metacharacters through as plain arguments', async () => {
    const result = await runCommand(process.execPath, ['-e', 'console.log(process.argv[1])', '3000;touch x']);
    expect(result).toEqual({ state: 'ran', exitCode: 0, stdout: '3000;touch x\n' });
  });

  it('reports a binary that is not installed as missing', async () => {
    expect(await runCommand('berth-no-such-command', [])).toEqual({ state: 'missing' });
  });
});
