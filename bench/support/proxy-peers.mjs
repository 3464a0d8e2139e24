#!/usr/bin/env node
/**
 * The other ends of the proxy section, each in a process of its own (as
 * berth's proxy runs in `berth serve`): `backend` (a small keep-alive HTTP
 * server that answers "ok", and a websocket echo), `http-proxy-3` (the proxy
 * Vite uses, keep-alive agent, ws on) and `pipe` (a minimal node:http pipe of
 * our own: http.request with a keep-alive agent, stream.pipeline both ways,
 * upgrades tunnelled over net). Prints `port N` once listening.
 *
 *   node bench/support/proxy-peers.mjs backend [port]
 *   node bench/support/proxy-peers.mjs http-proxy-3 <backendPort>
 *   node bench/support/proxy-peers.mjs pipe <backendPort>
 */
import http from 'node:http';
import net from 'node:net';
import { pipeline } from 'node:stream';

const [mode, targetArg] = process.argv.slice(2);
const target = Number(targetArg);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const listen = (server, port = 0) =>
  server.listen(port, '127.0.0.1', () => console.log(`port ${server.address().port}`));

if (mode === 'backend') {
  const { WebSocketServer } = await import('ws');
  const body = 'ok';
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
  listen(server, Number.isInteger(target) ? target : 0);
} else if (mode === 'http-proxy-3') {
  const { createProxyServer } = await import('http-proxy-3');
  const proxy = createProxyServer({ target: `http://127.0.0.1:${target}`, agent, ws: true, xfwd: true });
  proxy.on('error', (_error, _req, res) => res?.destroy?.());
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
  listen(server);
} else if (mode === 'pipe') {
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        pipeline(answer, res, () => {});
      },
    );
    upstream.on('error', () => res.destroy());
    pipeline(req, upstream, () => {});
  });
  server.on('upgrade', (req, socket, head) => {
    const upstream = net.connect(target, '127.0.0.1', () => {
      let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${lines}\r\n`);
      upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.setNoDelay(true);
    socket.setNoDelay(true);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  listen(server);
} else {
  console.error(`unknown mode ${mode}`);
  process.exitCode = 2;
}
