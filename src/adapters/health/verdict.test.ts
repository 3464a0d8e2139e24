import { describe, expect, it } from 'vitest';
import { type Attempt, verdict } from './verdict.js';

const on = (host: string, kind: Attempt['kind'], reason: string | null = null, latencyMs = 5): Attempt => ({
  host,
  kind,
  reason,
  latencyMs,
});

describe('verdict', () => {
  it('is healthy when any address answered well, with that address and its latency', () => {
    expect(verdict([on('127.0.0.1', 'refused', 'connection refused', 1), on('::1', 'ok', null, 7)])).toEqual({
      status: 'healthy',
      reason: null,
      latencyMs: 7,
      address: '::1',
    });
  });

  it('ignores attempts cancelled because another address answered', () => {
    expect(verdict([on('127.0.0.1', 'ok'), on('::1', 'aborted', 'cancelled')]).status).toBe('healthy');
  });

  it('prefers a wrong status over a refusal on the other address', () => {
    const v = verdict([
      on('127.0.0.1', 'refused', 'connection refused'),
      on('::1', 'status', 'GET / answered 503 (expected 200)', 3),
    ]);
    expect(v).toEqual({
      status: 'unhealthy',
      reason: 'GET / answered 503 (expected 200) on ::1',
      latencyMs: 3,
      address: '::1',
    });
  });

  it('prefers a timeout over a reset, and a reset over a refusal', () => {
    expect(
      verdict([on('127.0.0.1', 'error', 'socket hang up'), on('::1', 'timeout', 'timed out after 5 ms')])
        .reason,
    ).toBe('timed out after 5 ms on ::1');
    expect(
      verdict([on('127.0.0.1', 'refused', 'connection refused'), on('::1', 'error', 'socket hang up')])
        .reason,
    ).toBe('socket hang up on ::1');
  });

  it('on equal failures names the first address', () => {
    const v = verdict([on('127.0.0.1', 'timeout', 'timed out'), on('::1', 'timeout', 'timed out')]);
    expect(v.address).toBe('127.0.0.1');
  });

  it('is not running, naming every address, when nothing accepted a connection anywhere', () => {
    const v = verdict([on('127.0.0.1', 'refused', 'x', 2), on('::1', 'unavailable', 'y', 4)]);
    expect(v).toEqual({
      status: 'not-running',
      reason: 'connection refused on 127.0.0.1 and ::1',
      latencyMs: 4,
      address: null,
    });
    expect(verdict([on('127.0.0.1', 'refused', 'x'), on('::1', 'refused', 'x')]).status).toBe('not-running');
  });

  it('is unhealthy, not "not running", when something listens but fails anywhere', () => {
    expect(verdict([on('127.0.0.1', 'refused', 'x'), on('::1', 'timeout', 'timed out')]).status).toBe(
      'unhealthy',
    );
    expect(verdict([on('127.0.0.1', 'status', 'GET / answered 503'), on('::1', 'refused', 'x')]).status).toBe(
      'unhealthy',
    );
  });

  it('makes no claim that a service is stopped when no address was usable', () => {
    const v = verdict([
      on('127.0.0.1', 'unavailable', 'address unusable (EADDRNOTAVAIL)'),
      on('::1', 'unavailable', 'address unusable (EAFNOSUPPORT)'),
    ]);
    expect(v).toMatchObject({
      status: 'unhealthy',
      reason: 'address unusable (EADDRNOTAVAIL) on 127.0.0.1 and ::1',
    });
  });

  it('is unhealthy with no attempts at all', () => {
    expect(verdict([]).status).toBe('unhealthy');
  });
});
