import { describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import { freePort } from './free-port.js';

describe('freePort (fake machine)', () => {
  it('stops the process listening on the port and reports the port free', async () => {
    const machine = new FakeMachine();
    machine.listen(3000, { pid: 900, command: 'node server.js' });
    const report = await freePort(machine.adapters(), 3000, { force: false, graceMs: 1000 });
    expect(report.attempts.map((a) => [a.holder.pid, a.outcome])).toEqual([[900, 'stopped']]);
    expect(machine.stopped).toEqual([900]);
    expect(report).toMatchObject({ failed: false, stillHeld: false });
  });

  it('signals nothing when nothing listens', async () => {
    const machine = new FakeMachine();
    const report = await freePort(machine.adapters(), 3000, { force: false, graceMs: 1000 });
    expect(report).toMatchObject({ attempts: [], failed: false, stillHeld: false });
    expect(machine.stopped).toEqual([]);
  });

  it('reports a refused process as a failure and the port as still held', async () => {
    const machine = new FakeMachine();
    machine.listen(3000, { pid: 900, command: 'postgres' });
    machine.refused.add(900);
    const report = await freePort(machine.adapters(), 3000, { force: false, graceMs: 1000 });
    expect(report.attempts[0]).toMatchObject({
      outcome: 'refused',
      refusal: expect.stringContaining('another user'),
    });
    expect(report).toMatchObject({ failed: true, stillHeld: true });
  });
});
