import { describe, expect, it } from 'vitest';
import { errorJson } from '../cli/exit.js';
import { BerthError, errorBody } from '../errors.js';
import { HttpError, statusFor, toHttpError } from './errors.js';

describe('HTTP errors', () => {
  it('maps every code to its status in one table', () => {
    expect(
      Object.fromEntries(
        (
          [
            'E_USAGE',
            'E_UNKNOWN_SERVICE',
            'E_NOT_FOUND',
            'E_PORT_HELD',
            'E_AMBIGUOUS',
            'E_REFUSED',
            'E_CONTENT_TYPE',
            'E_TOO_LARGE',
            'E_CONFIG',
            'E_NO_PORT',
            'E_BUSY',
          ] as const
        ).map((c) => [c, statusFor(c)]),
      ),
    ).toEqual({
      E_USAGE: 400,
      E_UNKNOWN_SERVICE: 404,
      E_NOT_FOUND: 404,
      E_PORT_HELD: 409,
      E_AMBIGUOUS: 409,
      E_REFUSED: 403,
      E_CONTENT_TYPE: 415,
      E_TOO_LARGE: 413,
      E_CONFIG: 422,
      E_NO_PORT: 503,
      E_BUSY: 503,
    });
  });

  it('turns a BerthError into the one error shape { success: false, error: { code, message, data, details } } with its status', () => {
    const res = toHttpError(
      new BerthError('E_PORT_HELD', 'server: 3000 is held. Free it.', {
        data: { port: 3000 },
        details: ['a'],
      }),
    ).response();
    expect(res.status).toBe(409);
    expect(JSON.parse(res.body as string)).toEqual({
      success: false,
      error: {
        code: 'E_PORT_HELD',
        message: 'server: 3000 is held. Free it.',
        data: { port: 3000 },
        details: ['a'],
      },
    });
  });

  it('answers the same body as the CLI prints with --json, built by one function', () => {
    const error = new BerthError('E_CONFIG', 'the config has 1 problem. Fix it.', {
      data: { file: '/p/berth.config.json' },
      details: ['services.a.preferred[0]: must be at least 1'],
    });
    expect(JSON.parse(toHttpError(error).response().body as string)).toEqual(errorJson(error));
    expect(errorJson(error)).toEqual(
      errorBody(error.code, error.message, { data: error.data, details: error.details }),
    );
  });

  it('always carries data and details, even when empty', () => {
    const body = JSON.parse(new HttpError('E_TOO_LARGE', 'too large. Send less.').response().body as string);
    expect(body).toEqual({
      success: false,
      error: { code: 'E_TOO_LARGE', message: 'too large. Send less.', data: {}, details: [] },
    });
  });

  it('answers 500 E_INTERNAL for anything unexpected, without a stack', () => {
    const res = toHttpError(new TypeError('boom')).response();
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body as string).error).toEqual({
      code: 'E_INTERNAL',
      message: 'unexpected error: boom. Please report this.',
      data: {},
      details: [],
    });
    expect(new HttpError('E_METHOD', 'no.', { headers: { allow: 'GET' } }).response().headers.allow).toBe(
      'GET',
    );
  });
});
