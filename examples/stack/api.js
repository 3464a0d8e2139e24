// The api: exits at once unless the db answers on DB_PORT (berth up starts it only once the db is ready).
const http = require('node:http');
const net = require('node:net');

const port = Number(process.env.PORT);
const db = net.connect(Number(process.env.DB_PORT), '127.0.0.1');
db.on('error', (error) => {
  console.error(`cannot reach the db on ${process.env.DB_URL}: ${error.code}`);
  process.exit(1);
});
db.on('connect', () => {
  db.end();
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return res.end('ok');
    res.end(
      `${process.env.API_GREETING} (db at ${process.env.DB_URL}, websocket at ${process.env.WEBSOCKET_URL})\n`,
    );
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening on ${process.env.API_URL}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
});
