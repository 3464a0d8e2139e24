/**
 * The command berth runs for a service: the one written, with the port
 * arguments of the tool it runs (src/core/port-args.ts), reading the scripts
 * of the package.json that `npm run` would use. Shared by `berth up`,
 * `berth run` and the test runners' web servers.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type PortArgsPlan, planPortArgs } from '../core/port-args.js';
import type { RunCommand, ServiceSpec } from '../core/types.js';

/**
 * The `scripts` of the package.json nearest to `cwd` (upward, as npm finds
 * it), or `null` when there is none or it cannot be read.
 *
 * @example
 * packageScripts('/work/shop/web') // { dev: 'vite', build: 'vite build' }
 */
export function packageScripts(cwd: string): Record<string, string> | null {
  for (let dir = cwd; ; dir = dirname(dir)) {
    let text: string | null = null;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      // None here: look in the folder above.
    }
    if (text !== null) {
      try {
        const scripts = (JSON.parse(text) as { scripts?: unknown }).scripts;
        if (typeof scripts !== 'object' || scripts === null) return null;
        return Object.fromEntries(Object.entries(scripts).filter(([, v]) => typeof v === 'string'));
      } catch {
        return null;
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

/**
 * What berth runs for `spec` on `port`: `command` (the service's own, or the
 * one given to `berth run`) with its tool's port arguments, and why.
 *
 * @example
 * serviceCommand(spec, spec.run.command!, 20001, spec.run.cwd).command // { kind: 'shell', line: 'npm run dev -- --port 20001 --strictPort' }
 */
export function serviceCommand(
  spec: ServiceSpec,
  command: RunCommand,
  port: number,
  cwd: string,
): PortArgsPlan {
  return planPortArgs({ command, port, setting: spec.run.portArgs, scripts: packageScripts(cwd) });
}
