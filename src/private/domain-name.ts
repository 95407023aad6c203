import { domainToASCII } from 'node:url';

/** How an allowlist entry matches. */
export enum MatchKind {
  /** `example.com`: that name only. */
  EXACT = 'exact',
  /** `.example.com`: the name itself and every subdomain (Squid's `dstdomain` meaning). */
  NAME_AND_SUBDOMAINS = 'name-and-subdomains',
  /** `*.example.com`: every subdomain, not the name itself. */
  SUBDOMAINS_ONLY = 'subdomains-only',
}

/** One parsed allowlist entry. */
export interface DomainEntry {
  readonly input: string;
  readonly name: string;
  readonly kind: MatchKind;
}

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * True when `host` is an IP literal in any form a client or resolver would accept: IPv6
 * (bracketed or not), or a name whose last label is a number — dotted quads, shortened
 * (`127.1`), decimal (`2130706433`), hex (`0x7f.1`) and octal forms, following the WHATWG URL
 * "ends in a number" rule. The rendered Squid configuration uses the same rule as a regex.
 */
export function isIpLiteral(host: string): boolean {
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (h.includes(':') || h.startsWith('[')) return true;
  return IP_LAST_LABEL.test(h.slice(h.lastIndexOf('.') + 1));
}

/** The last label of an IPv4 literal in any notation. */
export const IP_LAST_LABEL = /^([0-9]+|0x[0-9a-f]*)$/i;

/** Raised for allowlist input that breaks a rule; the message names the value and the rule. */
export class DomainError extends Error {}

/**
 * Parse one allowlist entry. `.example.com` matches the name and all subdomains,
 * `*.example.com` only the subdomains, anything else only the exact name.
 * Case is folded and one trailing dot is dropped. Errors name `field` (the prop the entry came from).
 */
export function parseDomainEntry(raw: string, field = 'allowedDomains'): DomainEntry {
  const input = raw;
  const s = raw.trim();
  const fail = (rule: string): never => {
    throw new DomainError(`Invalid ${field} entry '${input}': ${rule}`);
  };
  if (s.length === 0) fail('it is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    fail('it is a URL; give the host name only (e.g. "sts.us-east-1.amazonaws.com")');
  }
  if (s.includes('/')) fail('it contains a path or slash; give the host name only');
  if (/^[^:[\]]+:[^:]*$/.test(s)) {
    fail('it contains a port; ports are set with the `ports` property, not in the domain');
  }
  if (isIpLiteral(s.replace(/^\*?\./, ''))) {
    fail('it is an IP address; only host names can be allowed (IP-literal destinations are always denied)');
  }
  if (/\s/.test(s)) fail('it contains whitespace');

  let kind = MatchKind.EXACT;
  let name = s;
  if (name.startsWith('*.')) {
    kind = MatchKind.SUBDOMAINS_ONLY;
    name = name.slice(2);
  } else if (name.startsWith('.')) {
    kind = MatchKind.NAME_AND_SUBDOMAINS;
    name = name.slice(1);
  }
  if (name.includes('*')) fail("a wildcard is only allowed as the whole first label ('*.example.com')");
  if (name.endsWith('.')) name = name.slice(0, -1);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) {
    const ascii = domainToASCII(name);
    fail(`non-ASCII names must be given in punycode${ascii ? `: use '${input.replace(name, ascii)}'` : ''}`);
  }
  name = name.toLowerCase();
  if (name.length === 0) fail('it has no name after the wildcard');
  if (name.length > 253) fail(`the name is ${name.length} characters long; DNS allows at most 253`);
  for (const label of name.split('.')) {
    if (label.length === 0) fail('it has an empty label (two dots in a row)');
    if (label.length > 63) fail(`the label '${label}' is ${label.length} characters long; DNS allows at most 63`);
    if (!LABEL.test(label)) {
      const bad = label.match(/[^a-z0-9-]/);
      fail(
        bad
          ? `the character '${bad[0]}' is not allowed in a host name (letters, digits and '-' only)`
          : `the label '${label}' starts or ends with '-'`,
      );
    }
  }
  return { input, name, kind };
}
