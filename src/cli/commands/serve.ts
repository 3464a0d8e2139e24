/**
 * `berth serve [--port N] [--open] [--host H] [--unsafe-expose] [--allow-host NAME]`:
 * the HTTP API and dashboard on loopback, until SIGINT/SIGTERM.
 */
import { spawn } from 'node:child_process';
import { berthHome } from '../../compose/context.js';
import { BerthError } from '../../errors.js';
import { checkExposure, type Daemon, startDaemon } from '../../http/daemon.js';
import { findRunningDaemon } from '../../http/daemon-file.js';
import { DEFAULT_PROXY_PORT } from '../../http/proxy/server.js';
import { loadOrCreateToken } from '../../http/token.js';
import { parseCommand, parsePortArg } from '../args.js';
import type { Command, CommandIO } from '../io.js';

const HELP = `Usage: berth serve [--port N] [--proxy-port N | --no-proxy] [--open] [--host H] [--unsafe-expose] [--allow-host NAME]

Starts the HTTP API and the dashboard on 127.0.0.1 and ::1. Its own port is
leased like any other (default 4949, or the next free one); the address is
printed at start and written to $BERTH_HOME/daemon.json. Open the printed URL
once: it carries the access token ($BERTH_HOME/token) and sets it as a cookie.
Scripts send "Authorization: Bearer <token>". A second \`berth serve\` prints
where the running one is.

It also runs the proxy that gives every service a name, on loopback, on port
${DEFAULT_PROXY_PORT} (or $BERTH_PROXY_PORT): http://web.shop.localhost:${DEFAULT_PROXY_PORT} reaches
service web of project shop, websockets included; another checkout is
web.<checkout>.shop.localhost, another environment web-<env>.shop.localhost.
The proxy's port never moves: when another process holds it, berth serve
fails and says who.

Options:
  --port N          use port N (fail if it is taken)
  --proxy-port N    run the proxy on port N (80 where you may bind it)
  --no-proxy        run no proxy (no names)
  --open            open the dashboard in the browser
  --host H          bind H instead of loopback: refused unless --unsafe-expose
  --unsafe-expose   allow a non-loopback --host (the token is still required)
  --allow-host NAME answer to Host NAME too (e.g. a name in /etc/hosts); repeatable

Routes: GET /api/ports?project=&env=&dir=, GET /api/leases, GET /api/health,
GET /api/events (server-sent events), POST /api/assign, POST /api/release.`;

/** Opens `url` in the user's browser; failures only print a hint. */
function openBrowser(url: string, io: CommandIO): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  const child = spawn(cmd as string, args as string[], { detached: true, stdio: 'ignore' });
  child.on('error', () => io.err(`could not open a browser (${cmd} failed); open the URL above yourself`));
  child.unref();
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function announce(daemon: Daemon, io: CommandIO, tokenFile: string): void {
  io.out(
    `berth serve: dashboard and API on ${daemon.url} (pid ${daemon.pid}, ${daemon.addresses.join(' and ')})`,
  );
  io.out(`Dashboard: ${daemon.tokenUrl}`);
  if (daemon.proxyPort !== null) {
    io.out(
      `Names:     http://<service>.<project>.localhost:${daemon.proxyPort} (proxy on ${daemon.proxyAddresses.join(' and ')}; list at http://localhost:${daemon.proxyPort}/)`,
    );
  }
  io.out(`API:       curl -H "Authorization: Bearer $(cat ${tokenFile})" ${daemon.url}api/leases`);
  io.out('Stop with Ctrl+C.');
}

const serve: Command = async (argv, io) => {
  const { values } = parseCommand('serve', argv, {
    port: { type: 'string', short: 'p' },
    open: { type: 'boolean' },
    host: { type: 'string' },
    'unsafe-expose': { type: 'boolean' },
    'allow-host': { type: 'string', multiple: true },
    'proxy-port': { type: 'string' },
    'no-proxy': { type: 'boolean' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const port = values.port === undefined ? undefined : parsePortArg(values.port, '--port');
  if (values['no-proxy'] && values['proxy-port'] !== undefined) {
    throw new BerthError('E_USAGE', '--proxy-port and --no-proxy contradict each other. Give one of them.');
  }
  const proxyPort = values['no-proxy']
    ? null
    : values['proxy-port'] === undefined
      ? undefined
      : parsePortArg(values['proxy-port'], '--proxy-port');
  const host = values.host;
  // Refused before anything else: a mistyped --host must not find or start anything.
  checkExposure(host, values['unsafe-expose'] === true);
  const home = berthHome();
  const token = loadOrCreateToken(home);
  const running = await findRunningDaemon(home, token);
  if (running) {
    io.out(`berth serve is already running at ${running.url} (pid ${running.pid}).`);
    io.out(`Dashboard: ${running.url}?token=${token}`);
    if (running.proxyPort !== null)
      io.out(`Names:     http://<service>.<project>.localhost:${running.proxyPort}`);
    if (values.open) openBrowser(`${running.url}?token=${token}`, io);
    return 0;
  }
  const daemon = await startDaemon({
    home,
    ...(port === undefined ? {} : { port }),
    ...(host === undefined ? {} : { host }),
    unsafeExpose: values['unsafe-expose'] === true,
    allowHosts: values['allow-host'] ?? [],
    ...(proxyPort === undefined ? {} : { proxyPort }),
    log: (line) => io.err(line),
  });
  announce(daemon, io, `${home}/token`);
  if (values.open) openBrowser(daemon.tokenUrl, io);
  const signal = await untilSignal();
  io.err(`berth serve: ${signal}, stopping`);
  await daemon.close();
  return 0;
};

export default serve;
