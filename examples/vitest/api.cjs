// The example's api: berth starts it on PORT for the test run and stops it at the end.
const http = require('node:http');

const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  res.end(`hello from the api on ${process.env.API_URL}\n`);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
