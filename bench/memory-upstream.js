// Memory benchmark upstream: a TLS echo server inside the upstream network namespace (started by
// bench/memory.ts, stopped by its PID). Every byte a client sends inside TLS comes back, so a
// tunnel carries the same amount each way.
// Usage: node memory-upstream.js '{"cert":..,"key":..,"host":..,"port":443,"ready":..}'
'use strict';
const fs = require('node:fs');
const tls = require('node:tls');

const args = JSON.parse(process.argv[2]);
const server = tls.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }, (s) => {
  s.on('error', () => {});
  s.pipe(s);
});
server.on('tlsClientError', () => {});
server.on('error', (e) => {
  process.stderr.write(`memory-upstream: ${e.message}\n`);
  process.exit(1);
});
server.listen({ host: args.host, port: args.port, backlog: 4096 }, () => {
  fs.writeFileSync(args.ready, String(process.pid));
});
process.on('SIGTERM', () => process.exit(0));
