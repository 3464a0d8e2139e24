/**
 * A lease whose owner died but was not reaped yet (a zombie: a test worker killed with
 * its runner, in a container whose init reaps late) must not keep its ports: asking
 * for exactly those ports reclaims them, on every path that takes a port by number.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { closeGetPort, getPort } from '../../src/compose/get-port.js';
import { createPortManager } from '../../src/compose/manager.js';
import { berth, ROOT, reserveBlock } from '../helpers.js';

const LIB = join(ROOT, 'dist/index.js');
const PARENT = join(ROOT, 'test/support/unreaped-parent.mjs');
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean();
});

/**
 * Ports leased by a process that becomes a zombie of a parent that does not reap it.
 * `whileAlive` runs while the owner still lives (before the parent kills it).
 */
async function zombieHolding(
  count: number,
  whileAlive?: (home: string, ports: number[]) => Promise<void>,
): Promise<{ home: string; ports: number[]; pid: number }> {
  const root = mkdtempSync(join(tmpdir(), 'berth-zombie-'));
  const home = join(root, 'home');
  const releaseFile = join(root, 'release');
  const killFile = join(root, 'kill');
  const ports = await reserveBlock(count);
  const args = [PARENT, LIB, JSON.stringify(ports), releaseFile, ...(whileAlive ? [killFile] : [])];
  const parent: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, BERTH_HOME: home },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => {
    writeFileSync(killFile, '');
    writeFileSync(releaseFile, '');
    if (parent.exitCode === null) await once(parent, 'exit');
    rmSync(root, { recursive: true, force: true });
  });
  const lines = createInterface({ input: parent.stdout! })[Symbol.asyncIterator]();
  if (whileAlive) {
    expect((await lines.next()).value).toMatch(/^alive \d+$/);
    await whileAlive(home, ports);
    writeFileSync(killFile, '');
  }
  const line = String((await lines.next()).value);
  expect(line).toMatch(/^zombie \d+$/);
  return { home, ports, pid: Number(line.replace('zombie ', '')) };
}

const stateOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];

describe.runIf(process.platform === 'linux')('leases of a zombie owner', () => {
  it('getPort for exactly the ports it leased gets each of them', async () => {
    const { home, ports, pid } = await zombieHolding(3);
    cleanups.push(closeGetPort);
    for (const port of ports) expect(await getPort({ port, range: [port, port], home })).toBe(port);
    // The owner was still a zombie throughout: the reclaim did not wait for its reaping.
    expect(stateOf(pid)).toBe('Z');
  });

  it('an owner this process found alive before is seen a zombie at once: its exact port comes back', async () => {
    const { home, ports, pid } = await zombieHolding(1, async (home, [port]) => {
      // Alive: the exact port is refused (and this process's check of the owner is kept).
      await expect(getPort({ port: port!, range: [port!, port!], home })).rejects.toMatchObject({
        code: 'E_NO_PORT',
      });
    });
    cleanups.push(closeGetPort);
    const [port] = ports as [number];
    expect(await getPort({ port, range: [port, port], home })).toBe(port);
    expect(stateOf(pid)).toBe('Z');
  });

  it('a burst of calls preferring one of its ports gets it: the owner is checked in full before a call takes another port', async () => {
    const { home, ports, pid } = await zombieHolding(1);
    cleanups.push(closeGetPort);
    const [port] = ports as [number];
    // A zero-config call first, so the preferred calls are made while another is in flight
    // (a burst, which answers a port held by a live process from the reserve).
    const [, ...preferred] = await Promise.all([
      getPort({ home }),
      getPort({ port, home }),
      getPort({ port, home }),
      getPort({ port, home }),
    ]);
    expect(preferred).toContain(port);
    expect(new Set(preferred).size).toBe(3);
    expect(stateOf(pid)).toBe('Z');
  });

  it('a range it fills up is found full only after its owner was checked in full', async () => {
    const { home, ports, pid } = await zombieHolding(2);
    cleanups.push(closeGetPort);
    const [a, b] = ports as [number, number];
    expect(await getPort({ range: [a, b], home })).toBe(a);
    expect(await getPort({ range: [a, b], home })).toBe(b);
    expect(stateOf(pid)).toBe('Z');
  });

  it('berth-ports/get-port for one of those ports gets it', async () => {
    const { home, ports, pid } = await zombieHolding(1);
    const script = `import getPort from ${JSON.stringify(join(ROOT, 'dist/get-port/index.js'))};
      console.log(await getPort({ port: ${ports[0]} }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, BERTH_HOME: home },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    expect(Number(line)).toBe(ports[0]);
    expect(stateOf(pid)).toBe('Z');
  });

  it('a service whose preferred port it leased gets that port, from the library and the CLI', async () => {
    const { home, ports, pid } = await zombieHolding(2);
    const [a, b] = ports as [number, number];
    const dir = mkdtempSync(join(tmpdir(), 'berth-zombie-project-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pm = await createPortManager({
      cwd: dir,
      home,
      config: { services: { web: { preferred: [a], range: { min: a, max: a } } } },
    });
    cleanups.push(() => pm.close());
    expect((await pm.assign('web')).port).toBe(a);
    writeFileSync(
      join(dir, 'berth.config.json'),
      JSON.stringify({ services: { api: { preferred: [b], range: { min: b, max: b } } } }),
    );
    const result = await berth(['get', 'api'], { cwd: dir, env: { ...process.env, BERTH_HOME: home } });
    expect(result).toMatchObject({ code: 0, stdout: `${b}\n` });
    expect(stateOf(pid)).toBe('Z');
  });
});
