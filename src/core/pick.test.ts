import { describe, expect, it } from 'vitest';
import { describeTally } from './decisions.js';
import { type PickInput, pickPort, tallyPick } from './pick.js';
import { basePolicy } from './policy.js';

const EPHEMERAL = { min: 32768, max: 60999 };

function input(over: Partial<PickInput> & { leased?: number[]; busy?: number[] } = {}): PickInput {
  const { leased = [], busy = [], ...rest } = over;
  const leasedSet = new Set(leased);
  const busySet = new Set(busy);
  return {
    preferred: [],
    range: null,
    exclude: new Set(),
    policy: basePolicy({ ephemeral: EPHEMERAL }),
    use: { requires: ['http'], allowPrivileged: false },
    occupancy: {
      leased: (p) => leasedSet.has(p),
      leaseAt: () => undefined,
      listening: (p) => busySet.has(p),
    },
    start: 0,
    ...rest,
  };
}

describe('pickPort', () => {
  it('takes a preferred port the user names even in the ephemeral range', () => {
    expect(pickPort(input({ preferred: [35729] }))).toEqual({ port: 35729, strategy: 'preferred' });
  });

  it('scans a named range outside the ephemeral range first, then inside it', () => {
    expect(pickPort(input({ range: { min: 32760, max: 32800 }, busy: [32760] }))!.port).toBe(32761);
    const below = Array.from({ length: 8 }, (_, i) => 32760 + i);
    expect(pickPort(input({ range: { min: 32760, max: 32800 }, busy: below }))!.port).toBe(32768);
    expect(pickPort(input({ range: { min: 40600, max: 41499 } }))).toEqual({
      port: 40600,
      strategy: 'range_scan',
    });
  });

  it("berth's own picks (the pool) skip the well-known ports and the ephemeral range", () => {
    expect(pickPort(input({ start: 0 }))).toEqual({ port: 20001, strategy: 'pool' });
    const policy = basePolicy({ ephemeral: { min: 20000, max: 20005 } });
    expect(pickPort(input({ policy }))!.port).toBe(20006);
  });

  it('counts what stood in the way when nothing is free', () => {
    const range = { min: 1020, max: 1029 };
    const busy = [1024, 1025];
    const leased = [1026, 1027, 1028];
    const exclude = new Set([1029]);
    const given = input({ range, busy, leased, exclude, preferred: [1029] });
    expect(pickPort(given)).toBeNull();
    const tally = tallyPick(given);
    expect(tally).toEqual({ leased: 3, held: 2, excluded: 1, kept: 0, refused: { 'privileged port': 4 } });
    expect(describeTally(tally)).toBe(
      '3 leased by berth, 2 held by other processes, 1 excluded, 4 refused (4 privileged port)',
    );
  });
});
