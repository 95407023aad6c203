import { isIPv6 } from 'node:net';
import { Address, fromIpv4, isIpv4, parseAddress } from './cidr';
import { isIpLiteral } from './domain-name';

/** A requested host, read the way Squid 5 reads the host of a CONNECT or of a URL. */
export type RequestHost =
  /** A host name: lower case, trailing dots removed. */
  | { readonly kind: 'name'; readonly name: string }
  /** An IP literal Squid parses as an address (`hostIsNumeric`): the address it connects to. */
  | { readonly kind: 'ip'; readonly name: string; readonly address: Address }
  /**
   * Shaped like an IP literal (its last label is a number, or it contains ':' or '['), but not an
   * address Squid parses, or the unspecified address (which Squid does not treat as numeric):
   * no DNS name can end in a number, so it can never be resolved.
   */
  | { readonly kind: 'invalid-ip'; readonly name: string };

/** Characters that cannot be part of a host in an HTTP request line. */
const NOT_IN_HOST = /[\s\x00-\x1f\x7f/?#@\\]/;

/**
 * Read a requested host as Squid does (src/anyp/Uri.cc, src/ip/Address.cc in Squid 5.7):
 * every trailing dot is removed; a host with two dots in a row or a leading dot is rejected; an
 * IP literal is whatever the C library's `getaddrinfo(AI_NUMERICHOST)` accepts (dotted, shortened,
 * decimal, octal and hex IPv4; IPv6, bracketed or not, with an optional zone), and an IPv4-mapped
 * IPv6 address is its IPv4 address. Host names are compared without case.
 *
 * Throws for a host Squid refuses to parse (the request never reaches the access rules); the
 * message names the field.
 */
export function parseRequestHost(input: string): RequestHost {
  const fail = (rule: string): never => {
    throw new Error(`Invalid request host '${input}': ${rule}`);
  };
  if (typeof input !== 'string') fail('it is not a string');
  if (NOT_IN_HOST.test(input)) fail('it contains whitespace, a control character or one of / ? # @ \\');
  let h = input;
  if (h.startsWith('[')) {
    if (!h.endsWith(']')) fail("a bracketed IPv6 address must end with ']'");
    const inner = h.slice(1, -1);
    return ipv6(inner, input) ?? { kind: 'invalid-ip', name: h.toLowerCase() };
  }
  while (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0) fail('it is empty');
  if (h.includes('..') || h.startsWith('.')) fail('it has an empty label (a leading dot or two dots in a row)');
  if (h.length > 253) fail(`it is ${h.length} characters long; a DNS name has at most 253`);
  h = h.toLowerCase();
  if (h.includes(':')) return ipv6(h, input) ?? { kind: 'invalid-ip', name: h };
  if (!isIpLiteral(h)) return { kind: 'name', name: h };
  const v4 = parseInetAton(h);
  // Squid keeps the unspecified address as a name (Uri::host(): isAnyAddr), so it is not numeric.
  if (v4 === undefined || v4 === 0) return { kind: 'invalid-ip', name: h };
  return { kind: 'ip', name: h, address: fromIpv4(v4) };
}

function ipv6(text: string, input: string): RequestHost | undefined {
  const zone = text.indexOf('%');
  const bare = zone === -1 ? text : text.slice(0, zone);
  if (zone !== -1 && !/^%[A-Za-z0-9_.-]+$/.test(text.slice(zone))) return undefined;
  if (!isIPv6(bare)) return undefined;
  const address = parseAddress(bare)!;
  if (address === 0n || (isIpv4(address) && address === fromIpv4(0))) return undefined;
  return { kind: 'ip', name: input.toLowerCase(), address };
}

/** Largest value of the last part of an IPv4 literal with 1, 2, 3 or 4 parts. */
const LAST_PART_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];
const PART = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;

/**
 * glibc's `inet_aton` as `getaddrinfo(AI_NUMERICHOST)` uses it (exact: no trailing characters):
 * one to four parts separated by dots, each decimal, octal (leading 0) or hex (0x); every part but
 * the last is one byte, the last fills the remaining bytes. Returns the 32-bit value, or undefined.
 */
export function parseInetAton(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  let value = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!PART.test(p)) return undefined;
    // Exact below 2^53; anything longer is far above every limit.
    // parseInt with radix 16 skips the 0x itself; '0' alone reads as octal 0.
    const n = p[0] === '0' ? (p[1] === 'x' || p[1] === 'X' ? parseInt(p, 16) : parseInt(p, 8)) : Number(p);
    if (i < parts.length - 1) {
      if (n > 0xff) return undefined;
      value = value * 256 + n;
    } else {
      if (n > LAST_PART_MAX[parts.length - 1]) return undefined;
      value = value * 2 ** (8 * (4 - i)) + n;
    }
  }
  return value;
}
