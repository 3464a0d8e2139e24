import { describe, expect, it } from 'vitest';
import type { StackEvent } from '../compose/stack/start.js';
import type { CommandIO } from './io.js';
import { formatMs, prefixColour, stackPrinter } from './stack-output.js';
import { painter } from './style.js';

function capture(colour = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    paint: painter(colour),
    paintErr: painter(colour),
    errIsTTY: false,
  };
  return { io, out, err };
}

const events: StackEvent[] = [
  { type: 'starting', service: 'db', port: 5432, pid: 42, command: 'node db.js', restarts: 0 },
  { type: 'output', service: 'db', stream: 'stdout', line: 'ready to accept connections' },
  { type: 'output', service: 'api', stream: 'stderr', line: 'warning: slow disk' },
  { type: 'ready', service: 'db', port: 5432, url: 'tcp://localhost:5432', ms: 1234 },
  { type: 'moved', service: 'api', from: 3000, to: 3001, reason: 'api moved from 3000 to 3001: taken' },
  { type: 'restarting', service: 'api', delayMs: 2000, restarts: 2, maxRestarts: 5 },
];

describe('stackPrinter', () => {
  it("prefixes each line with its padded service name: a service's stdout on stdout, everything else on stderr", () => {
    const { io, out, err } = capture();
    const print = stackPrinter(io, { json: false, names: ['db', 'api', 'websocket'] });
    for (const e of events) print(e);
    expect(out).toEqual(['db        | ready to accept connections']);
    expect(err).toEqual([
      'db        | berth: starting `node db.js` on port 5432 (pid 42)',
      'api       | warning: slow disk',
      'db        | berth: ready on tcp://localhost:5432 after 1.2 s',
      'api       | berth: moved from port 3000 to 3001: api moved from 3000 to 3001: taken',
      'api       | berth: restarting in 2.0 s (restart 2 of 5)',
    ]);
  });

  it('colours a prefix on a terminal, the same colour for a name every time', () => {
    const { io, out } = capture(true);
    stackPrinter(io, { json: false, names: ['db'] })(events[1]!);
    const esc = String.fromCharCode(27);
    expect(out[0]).toBe(`${esc}[${out[0]!.slice(2, 4)}mdb |${esc}[0m ready to accept connections`);
    expect(prefixColour('api')).toBe(prefixColour('api'));
    expect(new Set(['db', 'api', 'web', 'worker', 'cache', 'queue'].map(prefixColour)).size).toBeGreaterThan(
      1,
    );
  });

  it('prints one JSON object per event with --json, output included', () => {
    const { io, out, err } = capture();
    const print = stackPrinter(io, { json: true, names: [] });
    for (const e of events) print(e);
    expect(err).toEqual([]);
    expect(out.map((line) => JSON.parse(line).type)).toEqual([
      'starting',
      'output',
      'output',
      'ready',
      'moved',
      'restarting',
    ]);
    expect(JSON.parse(out[2]!)).toEqual({
      type: 'output',
      service: 'api',
      stream: 'stderr',
      line: 'warning: slow disk',
    });
  });

  it('sums up every service with its port, URL and time to ready', () => {
    const { io, err } = capture();
    stackPrinter(io, { json: false, names: [] })({
      type: 'up',
      services: [
        { service: 'db', port: 5432, url: 'tcp://localhost:5432', name: null, readyMs: 1234 },
        { service: 'migrate', port: 20001, url: 'http://localhost:20001', name: null, readyMs: null },
      ],
    });
    expect(err.join('\n')).toBe(
      [
        'berth: every service is ready',
        'SERVICE   PORT  URL                     READY IN',
        'db        5432  tcp://localhost:5432    1.2 s',
        'migrate  20001  http://localhost:20001  done',
      ].join('\n'),
    );
  });

  it("adds each service's name when the proxy gives it one", () => {
    const { io, err } = capture();
    stackPrinter(io, { json: false, names: [] })({
      type: 'up',
      services: [
        { service: 'db', port: 5432, url: 'tcp://localhost:5432', name: null, readyMs: 1234 },
        {
          service: 'web',
          port: 3000,
          url: 'http://localhost:3000',
          name: 'http://web.shop.localhost:4939',
          readyMs: 5,
        },
      ],
    });
    expect(err.join('\n')).toContain('NAME');
    expect(err.join('\n')).toContain('http://localhost:3000  http://web.shop.localhost:4939  5 ms');
    expect(err.join('\n')).toMatch(/db +5432 +tcp:\/\/localhost:5432 +- +1\.2 s/);
  });

  it('formats durations', () => {
    expect([5, 999, 1000, 12_345].map(formatMs)).toEqual(['5 ms', '999 ms', '1.0 s', '12.3 s']);
  });
});
