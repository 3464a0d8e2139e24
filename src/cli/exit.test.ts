import { describe, expect, it } from 'vitest';
import { BerthError } from '../errors.js';
import { EXIT_FAILURE, EXIT_USAGE, errorJson, exitCodeFor } from './exit.js';

describe('CLI errors', () => {
  it('prints a BerthError with --json in the one error shape, data and details included', () => {
    const error = new BerthError('E_PORT_HELD', 'server: 3000 is held. Free it.', {
      data: { port: 3000, service: 'server' },
    });
    expect(errorJson(error)).toEqual({
      success: false,
      error: {
        code: 'E_PORT_HELD',
        message: 'server: 3000 is held. Free it.',
        data: { port: 3000, service: 'server' },
        details: [],
      },
    });
    expect(exitCodeFor(error)).toBe(EXIT_FAILURE);
  });

  it('prints anything unexpected as E_INTERNAL with empty data and details', () => {
    expect(errorJson(new TypeError('boom'))).toEqual({
      success: false,
      error: {
        code: 'E_INTERNAL',
        message: 'unexpected error: boom. Please report this.',
        data: {},
        details: [],
      },
    });
    expect(exitCodeFor(new BerthError('E_CONFIG', 'bad. Fix it.'))).toBe(EXIT_USAGE);
  });
});
