// A stand-in database: listens on PORT after a second, as a real one takes a moment to start.
const net = require('node:net');

const port = Number(process.env.PORT);
setTimeout(() => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {}); // health checks hang up without reading
    socket.end('db: ok\n');
  });
  server.listen(port, '127.0.0.1', () => console.log(`accepting connections on ${port}`));
  process.on('SIGTERM', () => {
    console.log('shutting down');
    server.close(() => process.exit(0));
  });
}, 1000);
console.log('starting up...');
