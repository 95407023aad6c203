// A test upstream, started inside the lab's network namespace. It records every connection it
// accepts (so a test can prove that a denied request never reached it) and answers:
// - TLS ports: HTTP over TLS; a mock STS GetCallerIdentity, or "upstream-ok host=<Host> sni=<SNI>";
// - plain ports: "upstream-ok host=<Host>".
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const http = require('node:http');

const args = JSON.parse(process.argv[2]);
const record = (event) => fs.appendFileSync(args.log, JSON.stringify({ t: Date.now(), ...event }) + '\n');

function handler(kind) {
  return (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const sni = req.socket.servername || '';
      record({ event: 'request', kind, host: req.headers.host || '', sni, method: req.method, url: req.url,
        via: req.headers.via || '', xff: req.headers['x-forwarded-for'] || '' });
      const stream = /^\/stream\?ms=(\d+)&every=(\d+)/.exec(req.url || '');
      if (stream) {
        // A long-lived response: a tick every `every` ms for `ms` ms, then "done".
        res.writeHead(200, { 'content-type': 'text/plain' });
        const until = Date.now() + Number(stream[1]);
        const timer = setInterval(() => {
          if (Date.now() >= until) {
            clearInterval(timer);
            res.end('done\n');
          } else {
            res.write('tick\n');
          }
        }, Number(stream[2]));
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (req.method === 'POST' && /Action=GetCallerIdentity/.test(body)) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
          `<Arn>arn:aws:iam::${args.account}:user/egress-test</Arn><UserId>AIDAEGRESSTEST</UserId><Account>${args.account}</Account>` +
          `</GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetCallerIdentityResponse>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`upstream-ok host=${req.headers.host || ''} sni=${sni}\n`);
    });
  };
}

const httpsApp = http.createServer(handler('tls'));
const tlsServer = tls.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }, (s) => {
  record({ event: 'tls', sni: s.servername || '', local: s.localAddress, port: s.localPort });
  httpsApp.emit('connection', s);
});
tlsServer.on('tlsClientError', (err, s) => record({ event: 'tls-error', error: String(err.code || err.message), port: s.localPort }));
const plainApp = http.createServer(handler('plain'));

let pending = 0;
function listen(port, onConn) {
  pending++;
  const srv = net.createServer({ pauseOnConnect: false }, (sock) => {
    record({ event: 'accept', port, local: sock.localAddress, remote: sock.remoteAddress });
    sock.on('error', () => {});
    onConn(sock);
  });
  srv.listen({ port, host: '::', ipv6Only: false }, () => {
    if (--pending === 0) fs.writeFileSync(args.ready, String(process.pid));
  });
}
for (const p of args.tlsPorts) listen(p, (s) => tlsServer.emit('connection', s));
for (const p of args.plainPorts) listen(p, (s) => plainApp.emit('connection', s));
process.on('SIGTERM', () => process.exit(0));
