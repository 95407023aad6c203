/* eslint-disable no-bitwise -- 128-bit address arithmetic on bigint */
import { isIP } from 'node:net';
import * as ipaddr from 'ipaddr.js';

/**
 * Addresses are 128-bit numbers in one space, as Squid keeps them: an IPv4 address `a.b.c.d` is
 * its IPv4-mapped IPv6 form `::ffff:a.b.c.d`, so an IPv4 block also matches the mapped spelling
 * of its addresses (Squid 5 stores every address as IPv6 and matches `dst 10.0.0.0/8` against
 * `[::ffff:10.1.2.3]`).
 */
export type Address = bigint;

/** `::ffff:0:0`, where IPv4 addresses live in the 128-bit space. */
const V4_MAPPED = 0xffffn << 32n;

/** The 128-bit address of an IPv4 address given as a 32-bit number. */
export function fromIpv4(value: number | bigint): Address {
  return V4_MAPPED + BigInt(value);
}

/** True when the address is an IPv4 address (stored IPv4-mapped). */
export function isIpv4(a: Address): boolean {
  return a >> 32n === 0xffffn;
}

/** Sixteen-bit groups of a valid IPv6 text, with a dotted IPv4 tail as two groups. */
function ipv6Groups(text: string): number[] {
  const half = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = text.indexOf('::');
  if (gap === -1) return half(text);
  const head = half(text.slice(0, gap));
  const tail = half(text.slice(gap + 2));
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Parse an address in standard notation (dotted-quad IPv4, or IPv6 including `::ffff:a.b.c.d`).
 * Returns undefined for anything else.
 */
export function parseAddress(text: string): Address | undefined {
  const family = isIP(text);
  if (family === 4) return fromIpv4(text.split('.').reduce((v, x) => v * 256 + Number(x), 0));
  if (family !== 6) return undefined;
  return ipv6Groups(text).reduce((v, g) => (v << 16n) | BigInt(g), 0n);
}

/** An address in the notation Squid and people read: IPv4 dotted, IPv6 compressed. */
export function formatAddress(a: Address): string {
  // The low four bytes of an IPv4-mapped address are the IPv4 address.
  if (isIpv4(a)) return ipaddr.fromByteArray(bytesOf(a, 4)).toString();
  return formatV6(a);
}

/** IPv6 notation even for an IPv4-mapped address. */
function formatV6(a: Address): string {
  return ipaddr.fromByteArray(bytesOf(a, 16)).toString();
}

function bytesOf(v: bigint, n: number): number[] {
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Number((v >> BigInt(i * 8)) & 0xffn));
  return out;
}

/** A parsed CIDR block. */
export interface Cidr {
  readonly input: string;
  /** Canonical text, e.g. `10.0.0.0/8` or `2001:db8::/32`. */
  readonly text: string;
  readonly family: 'ipv4' | 'ipv6';
  /** First and last address of the block in the 128-bit space. */
  readonly first: Address;
  readonly last: Address;
}

/** Parse a CIDR block; the error names the value, what it is (`what`) and the rule it broke. */
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
  const base = parseAddress(addr)!;
  const hostBits = BigInt(max - prefix);
  const first = (base >> hostBits) << hostBits;
  // An IPv4-mapped IPv6 block is its IPv4 block (Squid matches them as one).
  const v4 = family === 4 || (isIpv4(first) && prefix >= 96);
  const shown = family === 4 || !v4 ? prefix : prefix - 96;
  if (first !== base) {
    fail(`it has host bits set; did you mean '${family === 4 ? formatAddress(first) : formatV6(first)}/${prefix}'?`);
  }
  return {
    input,
    text: `${formatAddress(first)}/${shown}`,
    family: v4 ? 'ipv4' : 'ipv6',
    first,
    last: first + (1n << hostBits) - 1n,
  };
}

/** A closed range of addresses. */
interface Range {
  readonly first: Address;
  readonly last: Address;
}

/**
 * A set of addresses, kept as sorted, merged ranges: membership by binary search, set subtraction,
 * and the smallest list of CIDR blocks that covers exactly the set (what Squid's `dst` ACL needs).
 */
export class CidrSet {
  /** A set from CIDR texts (programmer input: a bad block throws). */
  public static of(cidrs: string[]): CidrSet {
    return new CidrSet(cidrs.map((c) => parseCidr(c, 'CIDR')));
  }

  private readonly ranges: Range[];

  constructor(blocks: ReadonlyArray<Range>) {
    const sorted = [...blocks].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const merged: Range[] = [];
    for (const r of sorted) {
      const prev = merged[merged.length - 1];
      if (prev && r.first <= prev.last + 1n) {
        if (r.last > prev.last) merged[merged.length - 1] = { first: prev.first, last: r.last };
      } else {
        merged.push({ first: r.first, last: r.last });
      }
    }
    this.ranges = merged;
  }

  /** True when the set holds no address. */
  public get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** True when the address is in the set. */
  public contains(a: Address): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.ranges[mid];
      if (a < r.first) hi = mid - 1;
      else if (a > r.last) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** True when every address of the block is in the set. */
  public covers(block: Range): boolean {
    return this.ranges.some((r) => r.first <= block.first && block.last <= r.last);
  }

  /** True when the block shares at least one address with the set. */
  public overlaps(block: Range): boolean {
    return this.ranges.some((r) => r.first <= block.last && block.first <= r.last);
  }

  /** The addresses of this set that are not in `other`. */
  public minus(other: CidrSet): CidrSet {
    const out: Range[] = [];
    for (const r of this.ranges) {
      let first = r.first;
      for (const o of other.ranges) {
        if (o.last < first || o.first > r.last) continue;
        if (o.first > first) out.push({ first, last: o.first - 1n });
        first = o.last + 1n;
        if (first > r.last) break;
      }
      if (first <= r.last) out.push({ first, last: r.last });
    }
    return new CidrSet(out);
  }

  /** The union of this set and `other`. */
  public plus(other: CidrSet): CidrSet {
    return new CidrSet([...this.ranges, ...other.ranges]);
  }

  /** The fewest CIDR blocks that cover exactly this set, IPv4 ones in dotted notation. */
  public toCidrs(): string[] {
    const out: string[] = [];
    for (const r of this.ranges) {
      let first = r.first;
      while (first <= r.last) {
        // The largest aligned block that starts at `first` and ends within the range.
        let size = 0n;
        // (No block of 2^129 addresses ends within a range, so this stops at /0 at the latest.)
        while ((first & ((1n << (size + 1n)) - 1n)) === 0n && first + (1n << (size + 1n)) - 1n <= r.last) {
          size++;
        }
        // An aligned block that starts in the IPv4-mapped space (::ffff:0:0/96) stays inside it.
        const v4 = isIpv4(first);
        out.push(`${formatAddress(first)}/${Number((v4 ? 32n : 128n) - size)}`);
        first += 1n << size;
      }
    }
    return out;
  }
}

const ENDPOINT_ID = /^vpce-[0-9a-f]{8}([0-9a-f]{9})?$/;

/**
 * Validate a VPC endpoint ID (`vpce-` and 8 or 17 lower-case hex digits); the error names the value,
 * what it is (`what`, the prop as API.md spells it) and the rule it broke.
 */
export function parseEndpointId(input: string, what: string): string {
  const s = input.trim();
  if (!ENDPOINT_ID.test(s)) {
    throw new Error(
      `Invalid ${what} '${input}': a VPC endpoint ID is 'vpce-' followed by 8 or 17 lower-case hex digits (e.g. 'vpce-0123456789abcdef0')`,
    );
  }
  return s;
}
