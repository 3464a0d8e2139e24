// The front end: serves on PORT and asks the api through API_URL.
const http = require('node:http');

const port = Number(process.env.PORT);
const server = http.createServer(async (_req, res) => {
  const answer = await fetch(process.env.API_URL).then(
    (r) => r.text(),
    (e) => `api unreachable: ${e.message}`,
  );
  res.end(`web on ${port}; the api says: ${answer}`);
});
server.listen(port, '127.0.0.1', () => console.log(`open ${process.env.WEB_URL}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
