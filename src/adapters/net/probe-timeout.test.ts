import { describe, expect, it } from 'vitest';
import { BerthError, isBerthError } from '../../errors.js';
import { withProbeTimeout } from './probe-timeout.js';

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
