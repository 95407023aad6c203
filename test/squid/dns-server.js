// A DNS server for a lab's network namespace (dns2, UDP on 127.0.0.1:53): answers A and AAAA
// queries from the table it is given, with every address of a name (several A records, or A and
// AAAA), and NXDOMAIN for anything else (names it does not know, reverse lookups), at once, as a
// VPC resolver would. Squid's hosts_file keeps one address per name; names whose answers mix
// address ranges are served from here. The benchmark uses it with an empty table.
// Started through Lab.spawn, stopped by its PID.
'use strict';
const fs = require('node:fs');
const { isIPv4, isIPv6 } = require('node:net');
const dns2 = require('dns2');

const { Packet } = dns2;
const args = JSON.parse(process.argv[2]);
const records = new Map(Object.entries(args.records || {}).map(([n, a]) => [n.toLowerCase(), a]));
let answered = 0;

const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const addresses = question ? records.get(String(question.name).toLowerCase().replace(/\.$/, '')) : undefined;
    if (!addresses) {
      response.header.rcode = 3; // NXDOMAIN
    } else {
      for (const address of addresses) {
        const a = question.type === Packet.TYPE.A && isIPv4(address);
        const aaaa = question.type === Packet.TYPE.AAAA && isIPv6(address);
        if (a || aaaa) {
          response.answers.push({
            name: question.name,
            type: question.type,
            class: Packet.CLASS.IN,
            ttl: 300,
            address,
          });
        }
      }
    }
    answered++;
    send(response);
  },
});
server.on('listening', () => fs.writeFileSync(args.ready, String(process.pid)));
server.listen({ udp: { port: 53, address: '127.0.0.1' } });
process.on('SIGTERM', () => {
  if (args.stats) fs.writeFileSync(args.stats, String(answered));
  process.exit(0);
});
