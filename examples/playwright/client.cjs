// The example's front end: a page that shows what the server says, found through SERVER_URL.
const http = require('node:http');

const server = http.createServer(async (req, res) => {
  if (req.url === '/health') return res.end('ok');
  let message;
  try {
    message = (await (await fetch(`${process.env.SERVER_URL}/api/hello`)).json()).message;
  } catch (error) {
    message = `the server did not answer: ${error.message}`;
  }
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end(
    `<!doctype html><title>client</title><h1 id="message">${message}</h1><p id="server">${process.env.SERVER_URL}</p>`,
  );
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
