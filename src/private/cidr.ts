import { BlockList, isIP } from 'node:net';
import * as ipaddr from 'ipaddr.js';

/** A parsed CIDR block. */
export interface Cidr {
  readonly input: string;
  /** Canonical text, e.g. `10.0.0.0/8` or `2001:db8::/32`. */
  readonly text: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly network: string;
  readonly prefix: number;
}

/** Parse a CIDR block; the error names the value and the rule it broke. */
export function parseCidr(input: string, what: string): Cidr {
  const fail = (rule: string): never => {
    throw new Error(`Invalid ${what} '${input}': ${rule}`);
  };
  const s = input.trim();
  const slash = s.indexOf('/');
  if (slash === -1) fail("a CIDR block needs a prefix length (e.g. '10.0.0.0/16' or '192.0.2.7/32')");
  const addr = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0) fail(`'${addr}' is not an IPv4 or IPv6 address`);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) fail(`the prefix length must be 0-${max}`);
  const prefix = Number(prefixText);
  const parsed = ipaddr.parse(addr);
  const network = (
    family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`)
  ).toString();
  if (network !== parsed.toString()) fail(`it has host bits set; did you mean '${network}/${prefix}'?`);
  return { input, text: `${network}/${prefix}`, family: family === 4 ? 'ipv4' : 'ipv6', network, prefix };
}

/** A set of CIDR blocks with O(1)-ish native matching (node:net BlockList). */
export class CidrSet {
  private readonly list = new BlockList();
  constructor(public readonly cidrs: Cidr[]) {
    for (const c of cidrs) this.list.addSubnet(c.network, c.prefix, c.family);
  }
  public contains(address: string): boolean {
    const fam = isIP(address);
    if (fam === 0) return false;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as its IPv4 form, as Squid does.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return this.list.check(mapped[1], 'ipv4');
    return this.list.check(address, fam === 4 ? 'ipv4' : 'ipv6');
  }
}

const ENDPOINT_ID = /^vpce-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** Validate a VPC endpoint ID (`vpce-` and 8 or 17 lower-case hex digits). */
export function parseEndpointId(input: string): string {
  const s = input.trim();
  if (!ENDPOINT_ID.test(s)) {
    throw new Error(
      `Invalid VPC endpoint ID '${input}': expected 'vpce-' followed by 8 or 17 lower-case hex digits (e.g. 'vpce-0123456789abcdef0')`,
    );
  }
  return s;
}
