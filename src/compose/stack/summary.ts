/**
 * What a stack's lines say about its services: the command as written, and
 * the summary once everything is ready (every service, its port, URL and time
 * to ready; a service served by another's process shares its time).
 */
import { serviceUrl } from '../../core/endpoints.js';
import type { StackGraph } from '../../core/stack.js';
import type { RunCommand, ServiceSpec } from '../../core/types.js';
import type { UpService } from './events.js';

/** `node api.js`, or the shell line as written. */
export function commandText(command: RunCommand): string {
  return command.kind === 'shell' ? command.line : command.argv.join(' ');
}

/**
 * One entry per service of the stack, in start order.
 *
 * @example
 * upServices(graph, ports, specs, new Map([['api', 264]]))
 * // [{ service: 'api', port: 3000, url: 'http://localhost:3000', readyMs: 264 }, ...]
 */
export function upServices(
  graph: StackGraph,
  ports: ReadonlyMap<string, number>,
  specs: ReadonlyMap<string, ServiceSpec>,
  readyMs: ReadonlyMap<string, number>,
  names: ReadonlyMap<string, string> = new Map(),
): UpService[] {
  return graph.units.flatMap((unit) =>
    unit.serves.map((service) => {
      const port = ports.get(service)!;
      return {
        service,
        port,
        url: serviceUrl(specs.get(service)!, port),
        name: names.get(service) ?? null,
        readyMs: readyMs.get(unit.name) ?? null,
      };
    }),
  );
}
