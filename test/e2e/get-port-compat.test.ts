/**
 * `berth-ports/get-port` as a get-port user meets it: the built package, resolved by name
 * through package.json's exports map from a project whose node_modules/berth-ports links to
 * this checkout, by Node and by TypeScript; the bundle loads nothing but the getPort
 * code; and berth's one difference from get-port, processes asking at once never
 * receive the same port. (src/get-port/index.test.ts checks get-port's behaviours.)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, reserveBlock } from '../helpers.js';

const ENTRY = join(ROOT, 'dist/get-port/index.js');

let project: string;
let home: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'berth-get-port-consumer-'));
  home = join(project, 'berth-home');
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules/berth-ports'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Runs `node <file>` in the consumer project; resolves with stdout. */
function run(file: string, args: string[] = []): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [file, ...args],
      { cwd: project, env: { ...process.env, BERTH_HOME: home }, timeout: 20_000 },
      (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
    );
  });
}

describe('berth-ports/get-port, installed', () => {
  it('resolves through the exports map to the bundled entry, with get-port’s exports', async () => {
    const consumer = join(project, 'consumer.mjs');
    writeFileSync(
      consumer,
      `import getPort, { portNumbers, clearLockedPorts } from 'berth-ports/get-port';
       const wanted = Number(process.argv[2]);
       const port = await getPort({ port: portNumbers(wanted, wanted) });
       clearLockedPorts();
       console.log(JSON.stringify({
         resolved: import.meta.resolve('berth-ports/get-port'),
         kinds: [typeof getPort, typeof portNumbers, typeof clearLockedPorts],
         port,
       }));`,
    );
    const [wanted] = (await reserveBlock(1)) as [number];
    const out = JSON.parse(await run(consumer, [String(wanted)])) as {
      resolved: string;
      kinds: string[];
      port: number;
    };
    expect(out.resolved).toBe(pathToFileURL(ENTRY).href);
    expect(out.kinds).toEqual(['function', 'function', 'function']);
    expect(out.port).toBe(wanted);
  });

  it('its types resolve for a TypeScript consumer (moduleResolution NodeNext)', async () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import getPort, { clearLockedPorts, type Options, portNumbers } from 'berth-ports/get-port';
       const options: Options = { port: portNumbers(3000, 3100), exclude: [3001], host: '127.0.0.1', reserve: true };
       const port: number = await getPort(options);
       clearLockedPorts();
       // @ts-expect-error a port is a number
       await getPort({ port: '3000' });
       export { port };`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    await expect(run(tsc, ['-p', join(project, 'tsconfig.json'), '--traceResolution'])).resolves.toContain(
      `'berth-ports/get-port' was successfully resolved to '${join(ROOT, 'dist/get-port/index.d.ts')}'`,
    );
  });

  it('loads only the getPort code: no config loader, yaml, jiti or HTTP layer', () => {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      const specifiers = [
        ...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\d*\(\s*)["']([^"'\s]+)["']/g),
      ].map((m) => m[1]!);
      for (const s of specifiers) {
        if (s.startsWith('.')) visit(resolve(dirname(file), s));
        else bare.add(s);
      }
    };
    visit(ENTRY);
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    // etcd's client is reachable only through the etcd registry's dynamic import, taken
    // when BERTH_REGISTRY names etcd (src/adapters/registry/open.ts).
    const etcdOnly = new Set(['etcd3', 'cockatiel']);
    expect([...bare].filter((s) => !builtins.has(s) && !etcdOnly.has(s))).toEqual(['better-sqlite3']);
    const all = [...seen].map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const absent of ['yaml', 'jiti', 'berth.config', 'text/event-stream'])
      expect(all).not.toContain(absent);
    expect([...seen].map((f) => f.slice(ROOT.length))).not.toContain('/dist/index.js');
  });
});

describe("berth-ports/get-port across processes (berth's difference from get-port)", () => {
  it('processes asking at once never receive the same port, preferred or from the pool', async () => {
    const PROCESSES = 4;
    const [a, b, c] = (await reserveBlock(3)) as [number, number, number];
    // Each process: zero-config calls, the three preferred ports as an array and as portNumbers.
    const worker = `
      import getPort, { portNumbers } from 'berth-ports/get-port';
      console.log('ready');
      process.stdin.once('data', async () => {
        const asks = [
          ...Array.from({ length: 10 }, () => getPort()),
          getPort({ port: [${a}, ${b}, ${c}] }),
          getPort({ port: portNumbers(${a}, ${c}) }),
        ];
        console.log(JSON.stringify(await Promise.all(asks)));
      });
      process.stdin.on('end', () => process.exit(0));`;
    const workers = Array.from({ length: PROCESSES }, () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', worker], {
        cwd: project,
        env: { ...process.env, BERTH_HOME: home },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(child);
      return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
    });
    const nextLine = async (lines: AsyncIterator<string>) => {
      const { value, done } = await lines.next();
      if (done) throw new Error('a worker exited before answering');
      return value;
    };
    // Every process has loaded berth before any asks: `go` goes to all at once.
    for (const { lines } of workers) expect(await nextLine(lines)).toBe('ready');
    for (const { child } of workers) child.stdin!.write('go\n');
    const outputs = workers.map(async ({ lines }) => JSON.parse(await nextLine(lines)) as number[]);
    const ports = (await Promise.all(outputs)).flat();
    const exited = workers.map(({ child }) => new Promise((r) => child.once('exit', r)));
    for (const { child } of workers) child.stdin!.end();
    await Promise.all(exited);
    expect(ports).toHaveLength(PROCESSES * 12);
    expect(new Set(ports).size).toBe(ports.length);
    // Eight asks for three preferred ports: each went to exactly one of them.
    expect(ports.filter((p) => p === a || p === b || p === c).sort()).toEqual([a, b, c].sort());
  });
});
