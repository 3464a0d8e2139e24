/**
 * `berth env [--format shell|dotenv|json]`: every service's port and URL as
 * variables (`SERVER_PORT=3000`, `SERVER_URL=http://localhost:3000`,
 * `WEBSOCKET_URL=ws://localhost:3000`), assigning services that have no lease.
 */
import { berthHome } from '../../compose/context.js';
import { envVars, shellQuote } from '../../core/endpoints.js';
import { BerthError } from '../../errors.js';
import { noPositionals } from '../args.js';
import { daemonProxy, namedUrlsFor, resolvesToLoopback, serviceNamedUrls } from '../names.js';
import { projectCommand } from '../project.js';
import { remoteEnvVars } from './env-host.js';

const HELP = `Usage: berth env [--format shell|dotenv|json] [--host H]

Prints every service's port and URL as variables. shell (default) prints
\`export NAME=value\` lines for eval "$(berth env)"; dotenv prints NAME=value; json an object.
While \`berth serve\` runs its proxy, each service's name follows as a comment
(# web: http://web.shop.localhost:4939); with "urls": "named" in the config,
<NAME>_URL is that name when it resolves here (else the port URL, and a line why).
--host H prints the ports host H leased for this project in a shared registry (etcd),
with URLs at H's advertised address; it assigns nothing.`;

const FORMATS = ['shell', 'dotenv', 'json'] as const;

export default projectCommand({
  name: 'env',
  help: HELP,
  options: {
    format: { type: 'string', short: 'f' },
    host: { type: 'string' },
  },
  check: ({ values, positionals }) => {
    noPositionals('env', positionals);
    const format = values.json ? 'json' : (values.format ?? 'shell');
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new BerthError(
        'E_USAGE',
        `--format "${format}" is not a format. Use one of ${FORMATS.join(', ')}.`,
      );
    }
    return format;
  },
  run: async ({ values, pm, io, args: format }) => {
    let vars: [string, string][];
    let names = new Map<string, string>();
    if (values.host !== undefined) {
      vars = await remoteEnvVars(pm, values.host);
    } else {
      const result = await pm.assignAll();
      for (const d of result.decisions) if (d.from !== null) io.err(d.message);
      const ports = new Map(Object.entries(result.services).map(([name, s]) => [name, s.port]));
      const proxy = await daemonProxy(berthHome());
      const named = await namedUrlsFor(
        pm,
        { proxy: async () => proxy, resolves: resolvesToLoopback },
        io.err,
      );
      vars = envVars(pm.config.services, ports, named);
      // Names that are not the URLs already are shown as comments (eval and dotenv skip them).
      if (proxy.port !== null && named.size === 0) names = serviceNamedUrls(pm, proxy.port);
    }
    if (format === 'json') io.out(JSON.stringify(Object.fromEntries(vars), null, 2));
    else if (format === 'dotenv') for (const [k, v] of vars) io.out(`${k}=${v}`);
    else for (const [k, v] of vars) io.out(`export ${k}=${shellQuote(v)}`);
    if (format !== 'json') for (const [service, url] of names) io.out(`# ${service}: ${url}`);
    return 0;
  },
});
