import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { defaultSleep } from './start.js';

describe('the stack runner sleep', () => {
  it('leaves no abort listener behind: a readiness poll sleeps many times on one signal', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) await defaultSleep(1, stop.signal);
    // Before, every sleep left one: past 10 Node printed MaxListenersExceededWarning under berth up.
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('ends at once, with the signal reason, when the signal aborts', async () => {
    const stop = new AbortController();
    const sleeping = defaultSleep(60_000, stop.signal);
    stop.abort(new Error('stopping'));
    await expect(sleeping).rejects.toThrow('stopping');
    await expect(defaultSleep(1, stop.signal)).rejects.toThrow('stopping');
  });
});
