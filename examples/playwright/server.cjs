// The example's back end: Playwright starts it on PORT (leased by berth) before the tests.
const http = require('node:http');

const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ message: 'hello from the server', port: Number(process.env.PORT) }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
