/**
 * berth where there is no /proc (macOS, Windows), run on Linux with BERTH_PROCFS=off
 * (the `no-procfs` project of vitest.config.ts also runs the getPort bursts and the
 * reclaim after SIGKILL this way): plans from bind probes without the kernel's table,
 * owners judged by signal alone, stacks stopped without reading process groups.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { probePort } from '../../src/adapters/net/probe.js';
import { PROC_ROOT } from '../../src/adapters/procfs.js';
import { berth, CLI, close, listen, reserveBlock, type Sandbox, sandbox, waitFor } from '../helpers.js';

const boxes: Sandbox[] = [];

afterEach(() => {
  for (const box of boxes.splice(0)) box.cleanup();
});

function box(): Sandbox {
  const made = sandbox();
  made.env.BERTH_PROCFS = 'off';
  boxes.push(made);
  return made;
}

describe('without /proc (BERTH_PROCFS=off)', () => {
  it('runs this project with the switch off', () => {
    expect(PROC_ROOT).toBeNull();
  });

  it('berth assign plans around a stranger on a preferred port, found by a bind, not by the kernel table', async () => {
    const ports = await reserveBlock(4);
    const b = box();
    b.writeConfig({
      services: {
        server: { preferred: [ports[0], ports[1]], range: { min: ports[0]!, max: ports[3]! } },
        client: { preferred: [ports[2]] },
      },
    });
    const stranger = await listen(ports[0]!);
    try {
      const res = await berth(['assign', '--json'], { cwd: b.dir, env: b.env });
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out.services.server).toMatchObject({ port: ports[1], strategy: 'preferred' });
      expect(out.services.client).toMatchObject({ port: ports[2], strategy: 'preferred' });
      // Planned around, not leased and given back: no decision moved anything.
      expect(out.decisions.map((d: { from: number | null }) => d.from)).toEqual([null, null]);
    } finally {
      await close(stranger);
    }
  });

  it('berth up starts a stack in order and Ctrl-C stops it: nothing listens, nothing stays leased', async () => {
    const ports = await reserveBlock(2);
    const b = box();
    const server = `require('node:http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1')`;
    writeFileSync(join(b.dir, 'server.js'), server);
    b.writeConfig({
      services: {
        api: { preferred: [ports[0]], command: ['node', 'server.js'] },
        web: { preferred: [ports[1]], command: ['node', 'server.js'], dependsOn: ['api'] },
      },
    });
    const up = spawn(process.execPath, [CLI, 'up'], {
      cwd: b.dir,
      env: b.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    createInterface({ input: up.stdout! }).on('line', (line) => lines.push(line));
    createInterface({ input: up.stderr! }).on('line', (line) => lines.push(line));
    try {
      await waitFor(() => lines.some((l) => l.includes('every service is ready')), { timeoutMs: 20_000 });
      const ready = lines.filter((l) => /\| berth: ready on/.test(l)).map((l) => l.split(' ')[0]);
      expect(ready).toEqual(['api', 'web']);
      for (const port of ports) expect(await probePort(port)).toBe('busy');
      up.kill('SIGINT');
      const [code] = await once(up, 'exit');
      expect(code).toBe(0);
    } finally {
      if (up.exitCode === null) up.kill('SIGKILL');
    }
    for (const port of ports) expect(await probePort(port)).toBe('free');
    const ls = await berth(['ls', '--json'], { cwd: b.dir, env: b.env });
    expect(JSON.parse(ls.stdout)).toEqual([]);
  });
});
