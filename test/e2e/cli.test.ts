import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEphemeralRange } from '../../src/adapters/net/ephemeral.js';
import { berth, close, listen, reserveBlock, type Sandbox, sandbox, waitFor } from '../helpers.js';

/** The seed's six services, on ports reserved for this test (never 3000 and friends). */
function seedConfig(b: number[]) {
  return {
    project: 'shop',
    services: {
      server: {
        preferred: [b[0], b[1], b[2]],
        range: { min: b[0], max: b[5] },
        priority: 'high',
        requires: ['http'],
        conflicts: ['client'],
      },
      websocket: { inheritFrom: 'server', requires: ['websocket'] },
      client: { preferred: [b[1]], range: { min: b[0], max: b[5] }, priority: 'medium', requires: ['http'] },
      database: { preferred: [b[6]], range: { min: b[6], max: b[7] }, requires: ['tcp'] },
      redis: { preferred: [b[8]], range: { min: b[8], max: b[9] }, requires: ['tcp'] },
      monitoring: {
        preferred: [b[10]],
        range: { min: b[10], max: b[11] },
        priority: 'low',
        requires: ['http'],
      },
    },
    environments: { test: { strategy: 'conservative' } },
  };
}

let block: number[];
let box: Sandbox;
const servers: Server[] = [];

beforeAll(async () => {
  block = await reserveBlock(12);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await close(s);
  box?.cleanup();
});

function fresh() {
  box = sandbox();
  box.writeConfig(seedConfig(block));
  return box;
}

const run = (args: string[], b = box) => berth(args, { cwd: b.dir, env: b.env });

describe('berth assign', () => {
  it('the seed scenario: with the first server port held by a foreign process, server moves on, websocket follows, the rest keep their preferred ports, and the output says why', async () => {
    fresh();
    servers.push(await listen(block[0]!));
    const res = await run(['assign']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(
      `server assigned port ${block[2]} (preferred): ${block[0]} in use by a process berth did not lease; ${block[1]} kept for client (declared conflict)`,
    );
    expect(res.stdout).toContain(`websocket inherits port ${block[2]} from server`);
    expect(res.stdout).toContain(`client assigned port ${block[1]} (preferred)`);
    expect(res.stdout).toContain(`database assigned port ${block[6]} (preferred)`);
    expect(res.stdout).toMatch(
      new RegExp(`websocket\\s+${block[2]}\\s+inherited\\s+ws://localhost:${block[2]}`),
    );
  });

  it.runIf(readEphemeralRange() !== null)(
    'a preferred port the user names in the ephemeral range is assigned, and the line warns about it',
    async () => {
      // A port in the live ephemeral range that is free now: the kernel just handed it to a listen(0).
      const probe = await listen(0);
      const free = (probe.address() as { port: number }).port;
      await close(probe);
      box = sandbox();
      box.writeConfig({ services: { livereload: { preferred: [free], requires: ['tcp'] } } });
      const res = await run(['assign', '--json']);
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out.services.livereload).toMatchObject({ port: free, strategy: 'preferred' });
      expect(out.decisions[0].message).toMatch(
        new RegExp(
          `^livereload assigned port ${free} \\(preferred\\): ${free} is in the ephemeral range \\d+-\\d+: an outgoing connection can take it before the server binds it$`,
        ),
      );
    },
  );

  it('--json prints { project, environment, services, decisions } and assignments are stable across runs', async () => {
    fresh();
    const first = JSON.parse((await run(['assign', '--json'])).stdout);
    expect(first.project).toBe('shop');
    expect(first.environment).toBe('development');
    expect(first.services.server).toEqual({
      port: block[0],
      strategy: 'preferred',
      url: `http://localhost:${block[0]}`,
    });
    expect(first.services.websocket).toEqual({
      port: block[0],
      strategy: 'inherited',
      url: `ws://localhost:${block[0]}`,
    });
    expect(first.services.database.url).toBe(`tcp://localhost:${block[6]}`);
    expect(first.decisions.map((d: { service: string }) => d.service)).toContain('monitoring');
    // A foreign process now sits on the server's preferred port: the lease keeps it (sticky).
    servers.push(await listen(block[0]!));
    const second = JSON.parse((await run(['assign', '--json'])).stdout);
    expect(second.services.server).toMatchObject({ port: block[0], strategy: 'sticky' });
  });

  it('assigns only the named services (plus their inheritance chain)', async () => {
    fresh();
    const res = JSON.parse((await run(['assign', 'websocket', '--json'])).stdout);
    expect(Object.keys(res.services).sort()).toEqual(['server', 'websocket']);
  });

  it('--strategy strict fails with exit 1 and E_PORT_HELD when the preferred ports are taken', async () => {
    fresh();
    for (const p of block.slice(0, 3)) servers.push(await listen(p));
    const res = await run(['assign', 'server', '--strategy', 'strict']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Strategy strict does not fall back');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects bad arguments with exit 2 and a message naming the fix', async () => {
    fresh();
    const bad = await run(['assign', '--strategy', 'greedy']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--strategy "greedy" is not a strategy. Use one of minimal, aggressive, conservative, strict.',
    );
    const ttl = await run(['assign', '--ttl', 'soon']);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('--ttl "soon" is not a duration');
    const unknown = await run(['asign']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Did you mean "assign"?');
    // A name every object has is no command either (it was looked up on Object.prototype).
    for (const name of ['toString', 'constructor', '__proto__']) {
      const inherited = await run([name]);
      expect(inherited.code, name).toBe(2);
      expect(inherited.stderr).toBe(`berth: unknown command "${name}". Run \`berth --help\` for the list.\n`);
      expect(await run(['help', name])).toMatchObject({ code: 2, stderr: inherited.stderr });
    }
    // `help` of a name that is no command says so, as the name alone does.
    const helpTypo = await run(['help', 'asign']);
    expect(helpTypo.code).toBe(2);
    expect(helpTypo.stderr).toContain('unknown command "asign". Did you mean "assign"?');
    const svc = await run(['assign', 'nope']);
    expect(svc.code).toBe(2);
    expect(svc.stderr).toContain('unknown service "nope"');
    // With --json the error is JSON on stdout too.
    const json = await run(['assign', 'nope', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      success: false,
      error: {
        code: 'E_UNKNOWN_SERVICE',
        message: expect.stringContaining('unknown service "nope"'),
        data: expect.any(Object),
        details: expect.any(Array),
      },
    });
    const early = await run(['-e', 'test', 'assign']);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain('options go after the command');
    const extra = await run(['ls', 'extra']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('ls takes no arguments');
    const env = await run(['assign', '--env', '']);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('environment "" is not a valid name');
    const help = await run(['help', 'assign']);
    expect(help.stdout).toMatch(/^Usage: berth assign/);
  });

  it('a config error exits 2 with every problem and its path, and no stack trace', async () => {
    box = sandbox();
    box.writeConfig({ services: { server: { preferred: ['3000'] }, websocket: { inheritFrom: 'sever' } } });
    const res = await run(['assign']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('services.server.preferred[0]');
    expect(res.stderr).toContain('services.websocket.inheritFrom');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('berth get / ls / release / env', () => {
  it('get prints only the port and assigns it when needed; ls shows the lease; release frees it', async () => {
    fresh();
    const get = await run(['get', 'redis']);
    expect(get).toMatchObject({ code: 0, stdout: `${block[8]}\n` });
    const ls = JSON.parse((await run(['ls', '--json'])).stdout);
    expect(ls).toEqual([
      {
        project: 'shop',
        dir: box.dir,
        environment: 'development',
        service: 'redis',
        port: block[8],
        state: 'reserved',
        pid: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        expiresAt: null,
        // No daemon runs, so no proxy gives it a name.
        name: null,
      },
    ]);
    servers.push(await listen(block[8]!));
    const bound = JSON.parse((await run(['ls', '--json'])).stdout);
    expect(bound[0].state).toBe('bound');
    const table = (await run(['ls'])).stdout;
    expect(table).toMatch(/^SERVICE\s+PORT\s+STATE\s+PID\s+AGE$/m);
    expect(table).toMatch(new RegExp(`^redis\\s+${block[8]}\\s+bound\\s+-\\s+\\d+s$`, 'm'));
    const rel = await run(['release', 'redis']);
    expect(rel.stdout).toContain(`released redis (port ${block[8]})`);
    expect(JSON.parse((await run(['ls', '--json'])).stdout)).toEqual([]);
  });

  it('a registry file overwritten by garbage: get still answers, one line on stderr says what berth did', async () => {
    fresh();
    mkdirSync(box.home, { recursive: true });
    writeFileSync(join(box.home, 'registry.db'), Buffer.alloc(16 * 1024, 0x42));
    const get = await run(['get', 'redis']);
    expect(get).toMatchObject({ code: 0, stdout: `${block[8]}\n` });
    expect(get.stderr).toMatch(
      /^berth: the registry .*registry\.db was damaged \(file is not a database\); it is now .*registry\.db\.corrupt-[^ ]+, and berth started a fresh registry\./,
    );
    expect(get.stderr.trim().split('\n')).toHaveLength(1);
    expect(await run(['get', 'redis'])).toMatchObject({ code: 0, stdout: `${block[8]}\n`, stderr: '' });
  });

  it('ls --all-projects lists leases of every checkout; a second checkout gets its own ports', async () => {
    fresh();
    await run(['assign', 'redis']);
    const other = sandbox('shop');
    try {
      other.writeConfig(seedConfig(block));
      const otherEnv = { ...other.env, BERTH_HOME: box.home };
      const second = await berth(['get', 'redis'], { cwd: other.dir, env: otherEnv });
      expect(second.stdout.trim()).toBe(String(block[9]));
      const all = JSON.parse((await run(['ls', '--all-projects', '--json'])).stdout);
      expect(all.map((l: { dir: string; port: number }) => [l.dir, l.port])).toEqual(
        expect.arrayContaining([
          [box.dir, block[8]],
          [other.dir, block[9]],
        ]),
      );
      // The table tells the two checkouts of shop apart by their folder.
      const lines = (await run(['ls', '--all-projects'])).stdout.split('\n');
      expect(lines[0]).toMatch(/^PROJECT +ENV +SERVICE +PORT +STATE +PID +AGE +DIR$/);
      expect(lines.find((l) => l.includes(String(block[8])))).toMatch(new RegExp(`${box.dir}$`));
      expect(lines.find((l) => l.includes(String(block[9])))).toMatch(new RegExp(`${other.dir}$`));
    } finally {
      other.cleanup();
    }
  });

  it('release --all releases everything and the same ports come back next time (history)', async () => {
    fresh();
    servers.push(await listen(block[0]!));
    const first = JSON.parse((await run(['assign', '--json'])).stdout);
    await close(servers.pop()!);
    expect((await run(['release', '--all'])).code).toBe(0);
    const again = JSON.parse((await run(['assign', '--json'])).stdout);
    // block[0] is free again, but the server comes back to the port it had.
    expect(again.services.server).toMatchObject({ port: first.services.server.port, strategy: 'sticky' });
  });

  it('env prints variables in shell, dotenv and json formats, honouring a custom variable name', async () => {
    box = sandbox();
    const config = seedConfig(block) as { services: Record<string, Record<string, unknown>> };
    config.services.database!.portEnv = 'PGPORT';
    box.writeConfig(config);
    const shell = (await run(['env'])).stdout;
    expect(shell).toContain(`export SERVER_PORT=${block[0]}`);
    expect(shell).toContain(`export WEBSOCKET_URL=ws://localhost:${block[0]}`);
    expect(shell).toContain(`export PGPORT=${block[6]}`);
    const dotenv = (await run(['env', '--format', 'dotenv'])).stdout;
    expect(dotenv).toContain(`SERVER_URL=http://localhost:${block[0]}\n`);
    const json = JSON.parse((await run(['env', '--format', 'json'])).stdout);
    expect(json.REDIS_PORT).toBe(String(block[8]));
    const bad = await run(['env', '--format', 'xml']);
    expect(bad.code).toBe(2);
  });

  it.each([
    ['webSocket', 'WEB_SOCKET'],
    ['web-socket', 'WEB_SOCKET'],
    ['api2', 'API2'],
    ['redisCache2', 'REDIS_CACHE2'],
  ])('env and run name both variables of %s by one rule (stem %s)', async (name, stem) => {
    box = sandbox();
    box.writeConfig({ services: { [name]: { preferred: [block[3]], requires: ['websocket'] } } });
    const json = JSON.parse((await run(['env', '--format', 'json'])).stdout);
    expect(json).toEqual({
      [`${stem}_PORT`]: String(block[3]),
      [`${stem}_URL`]: `ws://localhost:${block[3]}`,
    });
    const script = `console.log(process.env.${stem}_PORT + ' ' + process.env.${stem}_URL)`;
    const res = await run(['run', name, '--quiet', '--', process.execPath, '-e', script]);
    expect(res.stdout.trim()).toBe(`${block[3]} ws://localhost:${block[3]}`);
  });

  it('ls shows when a --ttl lease expires (EXPIRES, expiresAt), and nothing of it without one', async () => {
    fresh();
    const before = Date.now();
    expect((await run(['assign', 'redis', '--ttl', '10m'])).code).toBe(0);
    expect((await run(['assign', 'database'])).code).toBe(0);
    const after = Date.now();
    const json = JSON.parse((await run(['ls', '--json'])).stdout) as {
      service: string;
      expiresAt: string | null;
    }[];
    const redis = Date.parse(json.find((l) => l.service === 'redis')!.expiresAt!);
    expect(redis).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(redis).toBeLessThanOrEqual(after + 600_000);
    expect(json.find((l) => l.service === 'database')!.expiresAt).toBeNull();
    const table = (await run(['ls'])).stdout;
    expect(table).toMatch(/^SERVICE\s+PORT\s+STATE\s+PID\s+AGE\s+EXPIRES$/m);
    expect(table).toMatch(new RegExp(`^redis\\s+${block[8]}\\s+reserved\\s+-\\s+\\d+s\\s+in (10|9)m$`, 'm'));
    expect(table).toMatch(new RegExp(`^database\\s+${block[6]}\\s+reserved\\s+-\\s+\\d+s\\s+-$`, 'm'));
    expect((await run(['release', 'redis'])).code).toBe(0);
    expect((await run(['ls'])).stdout).toMatch(/^SERVICE\s+PORT\s+STATE\s+PID\s+AGE$/m);
  });

  it('--ttl leases expire: ls shows them stale, and the next assignment reclaims them', async () => {
    fresh();
    expect((await run(['assign', 'redis', '--ttl', '1s'])).code).toBe(0);
    expect(JSON.parse((await run(['ls', '--json'])).stdout)[0].state).toBe('reserved');
    // Each look is a CLI run: the lease goes stale about a second after the assign, whatever the load.
    await waitFor(async () => JSON.parse((await run(['ls', '--json'])).stdout)[0].state === 'stale', {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: "redis's lease going stale",
    });
    const table = (await run(['ls'])).stdout;
    expect(table).toMatch(new RegExp(`^redis\\s+${block[8]}\\s+stale \\(expired\\)`, 'm'));
    await run(['assign', 'database']);
    const after = JSON.parse((await run(['ls', '--json'])).stdout);
    expect(after.map((l: { service: string }) => l.service)).toEqual(['database']);
  });

  it('--env selects the environment (its overrides and its own leases)', async () => {
    fresh();
    const dev = JSON.parse((await run(['assign', 'redis', '--json'])).stdout);
    const test = JSON.parse((await run(['assign', 'redis', '--json', '--env', 'test'])).stdout);
    expect(test.environment).toBe('test');
    expect(test.services.redis.port).not.toBe(dev.services.redis.port);
  });
});

describe('berth init', () => {
  it('writes a starter config that assigns, and refuses to overwrite it', async () => {
    box = sandbox();
    const res = await run(['init']);
    expect(res.code).toBe(0);
    const file = join(box.dir, 'berth.config.json');
    expect(existsSync(file)).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).services)).toEqual([
      'server',
      'websocket',
      'client',
      'database',
      'redis',
      'monitoring',
    ]);
    const again = await run(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('pass --force');
  });
});

describe('berth run', () => {
  it('runs the command with PORT and the env variables, ties the lease to the child, releases it after, and exits with its code', async () => {
    fresh();
    const script =
      'const fs=require("fs");console.log(JSON.stringify({PORT:process.env.PORT,WS:process.env.WEBSOCKET_URL,pid:process.pid}));' +
      'const ls=require("child_process").execFileSync(process.execPath,[process.env.CLI,"ls","--json"]).toString();console.log(ls);process.exit(7)';
    const res = await berth(['run', 'server', '--quiet', '--', process.execPath, '-e', script], {
      cwd: box.dir,
      env: { ...box.env, CLI: join(process.cwd(), 'dist/cli/main.js') },
    });
    expect(res.code).toBe(7);
    const [first, ...rest] = res.stdout.split('\n');
    const info = JSON.parse(first!);
    expect(info.PORT).toBe(String(block[0]));
    expect(info.WS).toBe(`ws://localhost:${block[0]}`);
    const during = JSON.parse(rest.join('\n'));
    const server = during.find((l: { service: string }) => l.service === 'server');
    expect(server.pid).toBe(info.pid);
    const after = JSON.parse((await run(['ls', '--json'])).stdout);
    expect(after.find((l: { service: string }) => l.service === 'server')).toBeUndefined();
  });

  it('--registry chooses the registry of the command and of the process it starts', async () => {
    fresh();
    const bad = await run(['assign', '--registry', 'redis://a:6379']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('registry "redis://a:6379" is not a registry URL');
    const env = { ...box.env, BERTH_REGISTRY: 'etcd://127.0.0.1:1' };
    const res = await berth(
      [
        'run',
        'server',
        '--quiet',
        '--registry=sqlite',
        '--',
        process.execPath,
        '-e',
        'console.log(process.env.BERTH_REGISTRY)',
      ],
      { cwd: box.dir, env },
    );
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe('sqlite');
  });

  it('releases the leases it made for the other services at the end, and keeps those leased before it', async () => {
    fresh();
    const cli = { ...box.env, CLI: join(process.cwd(), 'dist/cli/main.js') };
    const script =
      'console.log(JSON.stringify({pid:process.pid,ppid:process.ppid,ls:JSON.parse(require("child_process").execFileSync(process.execPath,[process.env.CLI,"ls","--json"]).toString())}))';
    const services = (ls: { service: string }[]) => ls.map((l) => l.service).sort();

    // No lease before: every service is leased for the run (the command's own to the command,
    // the others to berth run itself, so a killed berth run leaves them stale), and none is left after.
    const first = await berth(['run', 'redis', '--quiet', '--', process.execPath, '-e', script], {
      cwd: box.dir,
      env: cli,
    });
    expect(first.code).toBe(0);
    const during = JSON.parse(first.stdout) as {
      pid: number;
      ppid: number;
      ls: { service: string; pid: number }[];
    };
    expect(services(during.ls)).toEqual(['client', 'database', 'monitoring', 'redis', 'server', 'websocket']);
    expect(during.ls.find((l) => l.service === 'redis')!.pid).toBe(during.pid);
    expect(JSON.parse((await run(['ls', '--json'])).stdout)).toEqual([]);
    expect(during.ls.find((l) => l.service === 'database')!.pid).toBe(during.ppid);

    // Leases from before the run stay as they were; the command's own service is released, as always.
    expect((await run(['assign', 'database', 'redis'])).code).toBe(0);
    const second = await berth(['run', 'redis', '--quiet', '--', process.execPath, '-e', script], {
      cwd: box.dir,
      env: cli,
    });
    expect(second.code).toBe(0);
    const after = JSON.parse((await run(['ls', '--json'])).stdout);
    expect(after).toMatchObject([{ service: 'database', port: block[6], state: 'reserved', pid: null }]);
    expect(after).toHaveLength(1);
  });

  it('retries on another port when a racer takes the port before the command binds it', async () => {
    fresh();
    const marker = join(box.dir, 'first-run-done');
    // First run: a detached racer grabs $PORT, then the command fails as a server would on EADDRINUSE.
    // Second run: prints its port and succeeds.
    const script = `
      const fs = require('fs');
      if (!fs.existsSync(${JSON.stringify(marker)})) {
        fs.writeFileSync(${JSON.stringify(marker)}, process.env.PORT);
        const racer = require('child_process').spawn(process.execPath, ['-e',
          'require("net").createServer().listen(+process.argv[1], "127.0.0.1", () => process.send("up"))', process.env.PORT],
          { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
        racer.on('message', () => { fs.writeFileSync(${JSON.stringify(marker)} + '.pid', String(racer.pid)); process.exit(1); });
      } else {
        console.log(process.env.PORT);
      }`;
    const res = await run(['run', 'server', '--quiet', '--', process.execPath, '-e', script]);
    const racerPid = Number(readFileSync(`${marker}.pid`, 'utf8'));
    try {
      expect(res.code).toBe(0);
      const first = Number(readFileSync(marker, 'utf8'));
      expect(first).toBe(block[0]);
      expect(Number(res.stdout.trim())).not.toBe(first);
      expect(res.stderr).toContain(
        `server: port ${first} was taken by another process before the command bound it; retrying on another port (1/5)`,
      );
    } finally {
      process.kill(racerPid, 'SIGKILL');
    }
  });

  it('a failure prints no berth JSON when --json belongs to the command, not to berth', async () => {
    fresh();
    const unknown = await run(['run', 'nope', '--', process.execPath, '-e', '0', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown service "nope"');
    expect(unknown.stdout).toBe('');
    const missing = await run(['run', 'server', '--', 'definitely-not-a-command-xyz', '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    // A failing tool's own JSON output reaches stdout untouched, and nothing of berth's follows it.
    const script = 'console.log(JSON.stringify({ tool: process.argv.slice(1) })); process.exit(3)';
    const failing = await run([
      'run',
      'server',
      '--quiet',
      '--',
      process.execPath,
      '-e',
      script,
      '--',
      '--json',
    ]);
    expect(failing.code).toBe(3);
    expect(JSON.parse(failing.stdout)).toEqual({ tool: ['--json'] });
    // berth's own --json, before the `--`, still gets the error as JSON.
    const own = await run(['run', 'nope', '--json', '--', process.execPath, '-e', '0']);
    expect(JSON.parse(own.stdout)).toMatchObject({ success: false, error: { code: 'E_UNKNOWN_SERVICE' } });
  });

  it('a missing command is a clear error', async () => {
    fresh();
    const res = await run(['run', 'server', '--', 'definitely-not-a-command-xyz']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'cannot run "definitely-not-a-command-xyz": no such program on PATH. Check the command after --',
    );
    expect(res.stderr).not.toContain('node:internal');
    const usage = await run(['run', 'server']);
    expect(usage.code).toBe(2);
    // Without `--` the command's flags would be taken for berth's own (-e is --env).
    const before = (await run(['ls', '--json'])).stdout;
    const noDashes = await run(['run', 'server', 'node', '-e', '0']);
    expect(noDashes.code).toBe(2);
    expect(noDashes.stderr).toContain('then `--`, then the command');
    expect((await run(['ls', '--json'])).stdout).toBe(before);
  });
});

afterAll(() => {
  box?.cleanup();
});
