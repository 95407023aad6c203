// Benchmark upstream: a TLS server that runs inside the lab's network namespace (started by
// bench/run.ts through Lab.spawn, stopped by its PID). Lighter than test/squid/upstream-server.js:
// no per-connection logging, no HTTP parser. It answers, inside TLS:
//   GET /small -> one fixed small HTTP response (about 100 bytes), then closes;
//   GET /bulk  -> an endless stream of bytes until the client closes.
// Usage: node upstream.js '{"cert":..,"key":..,"host":..,"port":443,"ready":..}'
'use strict';
const fs = require('node:fs');
const tls = require('node:tls');

const args = JSON.parse(process.argv[2]);
const SMALL_BODY = 'ok\n'.padEnd(64, '.') + '\n';
const SMALL = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${SMALL_BODY.length}\r\nConnection: close\r\n\r\n${SMALL_BODY}`,
);
// One pre-allocated chunk, written again and again: the upstream spends its time on TLS, not on allocation.
const CHUNK = Buffer.alloc(256 * 1024, 'x');

const server = tls.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }, (s) => {
  s.on('error', () => {});
  let head = '';
  const onData = (d) => {
    head += d.toString('latin1');
    if (head.length > 4096) return s.destroy();
    if (!head.includes('\r\n\r\n')) return;
    s.removeListener('data', onData);
    if (head.startsWith('GET /bulk')) {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n');
      const pump = () => {
        // write() returns false once the socket buffer is full; 'drain' resumes. Bounded by the
        // client, which closes the tunnel when its measurement window ends.
        while (!s.destroyed && s.write(CHUNK));
      };
      s.on('drain', pump);
      s.resume();
      pump();
    } else {
      s.end(SMALL);
    }
  };
  s.on('data', onData);
});
server.on('tlsClientError', () => {});
server.on('error', (e) => {
  process.stderr.write(`upstream: ${e.message}\n`);
  process.exit(1);
});
server.listen({ host: args.host, port: args.port, backlog: 4096 }, () => {
  fs.writeFileSync(args.ready, String(process.pid));
});
process.on('SIGTERM', () => process.exit(0));
