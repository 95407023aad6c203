import { isIP } from 'node:net';
import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * Check the `dnsServers` prop: each entry an IPv4 or IPv6 address (a token is taken as IPv4).
 * Returns the list, or `undefined` when the VPC's resolver is used.
 */
export function checkDnsServers(servers: string[] | undefined): string[] | undefined {
  if (servers === undefined) return undefined;
  if (servers.length === 0) {
    throw new Error(
      'Invalid dnsServers []: give at least one DNS server address, or omit dnsServers to use the VPC resolver',
    );
  }
  for (const s of servers) {
    if (!Token.isUnresolved(s) && isIP(s) === 0) {
      throw new Error(`Invalid dnsServers entry '${s}': expected an IPv4 or IPv6 address such as '10.0.0.2'`);
    }
  }
  return servers;
}

/**
 * Let the instances reach the DNS servers on port 53 over UDP and TCP (TCP carries answers too
 * large for UDP). The VPC's own resolver needs no rule: security groups never filter it.
 */
export function allowDnsServers(securityGroup: ec2.ISecurityGroup, servers: string[]): void {
  for (const s of servers) {
    const peer = !Token.isUnresolved(s) && isIP(s) === 6 ? ec2.Peer.ipv6(`${s}/128`) : ec2.Peer.ipv4(`${s}/32`);
    securityGroup.addEgressRule(peer, ec2.Port.udp(53), `DNS (UDP) to ${Token.isUnresolved(s) ? 'a DNS server' : s}`);
    securityGroup.addEgressRule(peer, ec2.Port.tcp(53), `DNS (TCP) to ${Token.isUnresolved(s) ? 'a DNS server' : s}`);
  }
}
