// A stand-in for the VPC resolver inside the lab's network namespace: answers every DNS query on
// 127.0.0.1:53 (UDP) at once with NXDOMAIN. The benchmark's names come from hosts files, so only
// lookups no configuration needs arrive here: Squid's reverse (PTR) lookup of each client
// address. Without an answer those stay pending for dns_timeout, are never cached, and every new
// tunnel sends another one - a cost no real deployment (which has a resolver) pays.
// Started by bench/run.ts through Lab.spawn, stopped by its PID.
'use strict';
const dgram = require('node:dgram');
const fs = require('node:fs');

const args = JSON.parse(process.argv[2]);
const sock = dgram.createSocket('udp4');
let answered = 0;
sock.on('message', (msg, rinfo) => {
  if (msg.length < 12 || msg[2] & 0x80) return; // too short, or not a query
  // Skip the question's name (labels up to a zero byte), then QTYPE and QCLASS.
  let i = 12;
  for (let n = 0; i < msg.length && msg[i] !== 0 && n < 128; n++) i += msg[i] + 1;
  i += 5;
  if (i > msg.length) return;
  const res = Buffer.from(msg.subarray(0, i));
  res[2] = 0x80 | (msg[2] & 0x79); // QR, same opcode and RD
  res[3] = 0x80 | 0x03; // RA, NXDOMAIN
  res.writeUInt16BE(1, 4); // one question
  res.writeUInt32BE(0, 6); // no answers, no authority
  res.writeUInt16BE(0, 10); // no additional records
  sock.send(res, rinfo.port, rinfo.address);
  answered++;
});
sock.bind(53, '127.0.0.1', () => fs.writeFileSync(args.ready, String(process.pid)));
process.on('SIGTERM', () => {
  if (args.stats) fs.writeFileSync(args.stats, String(answered));
  process.exit(0);
});
