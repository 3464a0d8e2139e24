import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { treeListeners } from './tree-sockets.js';

/** Process groups this file started. */
const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

describe.runIf(process.platform === 'linux')('treeListeners on this machine', () => {
  it("finds the port a grandchild listens on, and not its parent's", async () => {
    // A shell whose node child listens on a port of the kernel's choosing and prints it.
    const server =
      "require('node:net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })";
    const child = spawn('/bin/sh', ['-c', `node -e "${server}"; true`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    groups.push(child.pid!);
    const port = await new Promise<number>((resolve) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
    });
    const found = await treeListeners(child.pid!);
    const grandchild = found?.find((f) => f.port === port);
    expect(grandchild).toMatchObject({ port, address: '127.0.0.1' });
    expect(grandchild!.pid).not.toBe(child.pid);
    expect(grandchild!.command).toContain('node -e');
    // A listener of this process (the child's parent) is outside the child's tree.
    const own = createServer();
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const ownPort = (own.address() as { port: number }).port;
    try {
      const again = await treeListeners(child.pid!);
      expect(again?.map((f) => f.port)).toEqual([port]);
      expect((await treeListeners(process.pid))?.map((f) => f.port)).toContain(ownPort);
    } finally {
      own.close();
    }
  });
});
