import { describe, expect, it } from 'vitest';
import { BerthError, isBerthError } from '../../errors.js';
import { probeWithin, withProbeTimeout } from './probe-timeout.js';

describe('withProbeTimeout', () => {
  it('passes the probe result through', async () => {
    expect(await withProbeTimeout(3000, 1000, async () => 'busy')).toBe('busy');
  });

  it('passes a probe error through unchanged', async () => {
    const failure = new BerthError('E_PROBE', 'bad host. Fix it.');
    await expect(withProbeTimeout(3000, 1000, async () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('rejects with E_TIMEOUT naming the port and the limit when the probe never settles', async () => {
    const error = await withProbeTimeout(3000, 20, () => new Promise(() => {})).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_TIMEOUT')).toBe(true);
    expect((error as Error).message).toMatch(
      /^probe of port 3000 timed out after 20 ms\. .*healthCheckTimeout\.$/,
    );
    expect((error as BerthError).data).toEqual({ port: 3000, timeoutMs: 20 });
  });

  it('times out each probe in flight at its own deadline, never before it', async () => {
    const never = () => new Promise<never>(() => {});
    const settled: string[] = [];
    const started = performance.now();
    const elapsed: Record<string, number> = {};
    const watch = (name: string, timeoutMs: number, probe: () => Promise<'free' | 'busy'>) =>
      withProbeTimeout(3000, timeoutMs, probe).then(
        (result) => settled.push(`${name} ${result}`),
        (error: unknown) => {
          elapsed[name] = performance.now() - started;
          settled.push(`${name} ${(error as BerthError).code}`);
        },
      );
    // The long one first: the short one, begun later, must not wait for the long one's deadline.
    await Promise.all([
      watch('long', 120, never),
      watch('short', 20, never),
      watch('answers', 40, () => new Promise((resolve) => setTimeout(() => resolve('busy'), 5))),
    ]);
    expect(settled).toEqual(['answers busy', 'short E_TIMEOUT', 'long E_TIMEOUT']);
    expect(elapsed.short).toBeGreaterThanOrEqual(20);
    expect(elapsed.long).toBeGreaterThanOrEqual(120);
  });

  it('keeps the process alive while a probe is in flight, and not after', async () => {
    // Counted with no turn of the event loop in between: the runner's own timers stay as they are.
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const probeBy = (answerWith: (answer: (result: 'free' | 'busy') => void) => void) =>
      withProbeTimeout(3000, 60_000, () => new Promise(answerWith));
    const before = timers();
    let answer: (result: 'free' | 'busy') => void = () => {};
    const pending = probeBy((resolve) => (answer = resolve));
    expect(timers()).toBe(before + 1);
    answer('free');
    expect(await pending).toBe('free');
    expect(timers()).toBe(before);
    // The next probe keeps it alive again (the timer kept, not armed anew), and lets go once it has answered.
    const next = probeBy((resolve) => (answer = resolve));
    expect(timers()).toBe(before + 1);
    answer('busy');
    expect(await next).toBe('busy');
    expect(timers()).toBe(before);
  });

  it('probeWithin gives an answer the probe gave at once as it is, arming nothing; a late one within the bound', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    expect(probeWithin(3000, 60_000, () => 'free')).toBe('free');
    expect(timers()).toBe(before);
    let answer: (result: 'free' | 'busy') => void = () => {};
    const late = probeWithin(3000, 60_000, () => new Promise((resolve) => (answer = resolve)));
    expect(late).toBeInstanceOf(Promise);
    expect(timers()).toBe(before + 1);
    answer('busy');
    expect(await late).toBe('busy');
    expect(timers()).toBe(before);
    // Bad arguments are still rejections, whatever the probe would have said.
    await expect(probeWithin(0, 1000, () => 'free')).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('a probe that throws at once rejects with its error and holds nothing', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const failure = new Error('no socket');
    const result = withProbeTimeout(3000, 60_000, () => {
      throw failure;
    });
    expect(timers()).toBe(before);
    await expect(result).rejects.toBe(failure);
  });

  it.each([0, -1, 65536, 1.5, Number.NaN])('refuses port %s with E_USAGE before probing', async (port) => {
    let probed = false;
    const error = await withProbeTimeout(port, 1000, async () => {
      probed = true;
      return 'free';
    }).catch((e: unknown) => e);
    expect(isBerthError(error, 'E_USAGE')).toBe(true);
    expect(probed).toBe(false);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses timeout %s with E_USAGE',
    async (timeoutMs) => {
      await expect(withProbeTimeout(3000, timeoutMs, async () => 'free')).rejects.toMatchObject({
        code: 'E_USAGE',
      });
    },
  );
});
