import { describe, expect, it } from 'vitest';
import { FakeMachine } from '../../test/support/fake-machine.js';
import { freePort } from './free-port.js';
import { hiddenFreeNote, hiddenHolders, hiddenWhoNote, whoIsOn } from './who.js';

/** `berth who` and `berth free` on a port whose only listener the holder finder cannot see. */
async function hiddenOn(machine: FakeMachine, port: number) {
  const adapters = { ...machine.adapters(), registry: { leasesInRange: () => [] } } as never;
  const who = await whoIsOn(adapters, port);
  const [shown] = hiddenHolders(machine.adapters(), who.found.hidden);
  const free = await freePort(machine.adapters(), port, { force: false, graceMs: 1000 });
  const [freeShown] = hiddenHolders(machine.adapters(), free.before.hidden);
  return {
    shown: shown!,
    who: hiddenWhoNote(shown!, port),
    free: hiddenFreeNote(freeShown!, port, false),
    report: free,
  };
}

describe('hidden listeners in berth who and berth free (fake machine)', () => {
  it('as root, a uid-0 socket no visible process holds is not visible from here, never "another user\'s", and no sudo', async () => {
    const machine = new FakeMachine();
    machine.uid = 0;
    // The holder finder says "other-user" when some fd tables were closed to it (a container's root without CAP_SYS_PTRACE).
    machine.hidden.set(3000, [{ address: '0.0.0.0', uid: 0, reason: 'other-user' }]);
    const { shown, who, free, report } = await hiddenOn(machine, 3000);
    expect(shown).toEqual({ address: '0.0.0.0', uid: 0, user: 'root', kind: 'not-visible' });
    for (const text of [who, free]) {
      expect(text).toContain('another PID namespace, e.g. a container, or it exited meanwhile');
      expect(text).toContain('docker ps --filter publish=3000');
      expect(text).toContain("ss -ltnp 'sport = :3000'");
      expect(text).not.toMatch(/another user|sudo|only stops your own/);
    }
    expect(who).toMatch(/^a process of user root \(uid 0\) that is not visible from here/);
    expect(free).toMatch(
      /^port 3000 is held on 0\.0\.0\.0 by a process of user root \(uid 0\) that berth cannot see/,
    );
    expect(report).toMatchObject({ attempts: [], stillHeld: true });
    expect(machine.stopped).toEqual([]);
  });

  it("as root, another uid's socket no visible process holds is not visible from here either", async () => {
    const machine = new FakeMachine();
    machine.uid = 0;
    machine.hidden.set(3000, [{ address: '::', uid: 1001, reason: 'other-user' }]);
    const { shown, who } = await hiddenOn(machine, 3000);
    expect(shown.kind).toBe('not-visible');
    expect(who).not.toContain('sudo');
  });

  it("a socket of berth's own uid is not visible from here, even when some fd tables were closed to berth", async () => {
    const machine = new FakeMachine();
    machine.hidden.set(3000, [{ address: '127.0.0.1', uid: 1000, reason: 'other-user' }]);
    const { shown, who } = await hiddenOn(machine, 3000);
    expect(shown).toMatchObject({ user: 'ada', kind: 'not-visible' });
    expect(who).toContain('not visible from here');
    expect(who).not.toMatch(/another user|sudo/);
  });

  it("another uid's socket, berth not root: another user's process, and sudo shows it", async () => {
    const machine = new FakeMachine();
    machine.hidden.set(3000, [{ address: '::', uid: 0, reason: 'other-user' }]);
    const { shown, who, free } = await hiddenOn(machine, 3000);
    expect(shown).toEqual({ address: '::', uid: 0, user: 'root', kind: 'other-user' });
    expect(who).toBe('a process of user root (uid 0); berth cannot see which: try `sudo berth who 3000`');
    expect(free).toBe(
      'port 3000 is held on :: by a process of user root (uid 0); berth only stops your own processes. Ask its owner, or stop it with the rights to do so.',
    );
  });
});
