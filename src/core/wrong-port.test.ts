import { describe, expect, it } from 'vitest';
import { planPortArgs } from './port-args.js';
import { isInspector, wrongPortFix, wrongPortLine } from './wrong-port.js';

const plan = (
  line: string,
  setting: boolean | string[] = true,
  scripts: Record<string, string> | null = null,
) => planPortArgs({ command: { kind: 'shell', line }, port: 20001, setting, scripts });

describe('wrongPortFix', () => {
  it('fits what berth did with the command', () => {
    expect(wrongPortFix(plan('vite', false), 'web')).toBe(
      'services.web has "portArgs": false; remove it so berth adds vite\'s flags, or write --port $PORT --strictPort in the command',
    );
    expect(wrongPortFix(plan('vite --port 3000'), 'web')).toBe(
      'the command gives vite its port itself (--port 3000); remove that so berth passes its own, or use $PORT there',
    );
    expect(wrongPortFix(plan('vite && true'), 'web')).toBe(
      'the command is a shell line berth does not change (&&); give vite its port in it (--port $PORT --strictPort)',
    );
    expect(wrongPortFix(plan('./my-server'), 'api')).toBe(
      'berth does not know this tool: make the command listen on $PORT, or set "portArgs" on services.api to the flag that sets its port, e.g. ["--port", "{port}"]',
    );
    expect(wrongPortFix(plan('nuxi dev'), 'web')).toMatch(
      /^nuxt dev reads PORT, yet listens elsewhere: check that nothing overrides it/,
    );
    expect(wrongPortFix(plan('astro dev'), 'web')).toMatch(
      /^astro was given --port 20001 and still listens elsewhere/,
    );
  });
});

describe('wrongPortLine', () => {
  it('names the process, its port and berth port', () => {
    expect(wrongPortLine({ pid: 42, command: 'node vite', port: 5174 }, 20001, 'fix it')).toBe(
      "pid 42 (node vite) listens on port 5174, not on berth's port 20001: fix it",
    );
    expect(wrongPortLine({ pid: 42, command: null, port: 5174 }, 20001, 'fix it')).toBe(
      "pid 42 listens on port 5174, not on berth's port 20001: fix it",
    );
  });
});

describe('isInspector', () => {
  it("tells Node's inspector from a server that merely mentions it", () => {
    expect(isInspector('node --inspect server.js')).toBe(true);
    expect(isInspector('node --inspect-brk=9230 server.js')).toBe(true);
    expect(isInspector('node server.js --inspector-ui')).toBe(false);
    expect(isInspector(null)).toBe(false);
  });
});
