import { CidrSet, parseCidr } from './cidr';

/**
 * The IPv6 spellings through which an IPv4 block can be reached: IPv4-compatible (`::a.b.c.d`,
 * deprecated) and NAT64 (`64:ff9b::a.b.c.d`, RFC 6052). The IPv4-mapped form needs no entry:
 * addresses are kept IPv4-mapped, so an IPv4 block already matches it.
 */
function withEmbeddings(v4: string[]): string[] {
  const out = [...v4];
  for (const c of v4) {
    const [addr, len] = c.split('/');
    for (const prefix of ['::', '64:ff9b::']) out.push(`${prefix}${addr}/${96 + Number(len)}`);
  }
  return out;
}

/** The address spaces the guardrails check. */
export interface AddressSpaces {
  /** Loopback and unspecified destinations: denied in every mode, never opened by `allowedPrivateCidrs`. */
  readonly localhost: CidrSet;
  /**
   * Link-local destinations: IPv4/IPv6 link-local (instance metadata at 169.254.169.254, the VPC
   * resolver, ECS and EKS Pod Identity credentials) and the IPv6 instance-metadata and EKS Pod
   * Identity addresses. Denied in every mode, never opened by `allowedPrivateCidrs`.
   */
  readonly linkLocal: CidrSet;
  /** Private and special-purpose space ({@link privateBlocks}): refused unless `allowedPrivateCidrs` lists it. */
  readonly private: CidrSet;
}

/**
 * The address spaces, built afresh on each call (each policy holds its own: cheap, and a test
 * that changes one cannot leak into another).
 */
export function addressSpaces(): AddressSpaces {
  return {
    localhost: CidrSet.of([...withEmbeddings(['127.0.0.0/8', '0.0.0.0/8']), '::1/128', '::/128']),
    linkLocal: CidrSet.of([
      ...withEmbeddings(['169.254.0.0/16']),
      'fe80::/10',
      'fd00:ec2::254/128',
      'fd00:ec2::23/128',
    ]),
    private: CidrSet.of(privateBlocks()),
  };
}

/**
 * The private and special-purpose destinations the proxy refuses unless `allowedPrivateCidrs` lists
 * them: every block IANA's special-purpose address registries mark as not globally reachable
 * (RFC 1918, shared address space, benchmarking, IETF protocol assignments, documentation,
 * multicast and reserved), IPv6 unique-local, site-local, discard-only and the local-use NAT64
 * prefix, and the IPv4-compatible and NAT64 spellings of every IPv4 block here.
 */
function privateBlocks(): string[] {
  return [
    ...withEmbeddings([
      '10.0.0.0/8', // RFC 1918
      '100.64.0.0/10', // shared address space (carrier-grade NAT), RFC 6598
      '172.16.0.0/12', // RFC 1918
      '192.0.0.0/24', // IETF protocol assignments, RFC 6890
      '192.0.2.0/24', // documentation (TEST-NET-1), RFC 5737
      '192.168.0.0/16', // RFC 1918
      '198.18.0.0/15', // benchmarking, RFC 2544
      '198.51.100.0/24', // documentation (TEST-NET-2)
      '203.0.113.0/24', // documentation (TEST-NET-3)
      '224.0.0.0/4', // multicast
      '240.0.0.0/4', // reserved, and the limited broadcast address
    ]),
    '::/96', // IPv4-compatible addresses (deprecated), whatever the IPv4 address
    '64:ff9b:1::/48', // local-use NAT64, RFC 8215
    '100::/64', // discard-only, RFC 6666
    '2001::/32', // Teredo
    '2001:2::/48', // benchmarking, RFC 5180
    '2001:db8::/32', // documentation, RFC 3849
    '3fff::/20', // documentation, RFC 9637
    'fc00::/7', // unique local addresses, RFC 4193
    'fec0::/10', // site-local (deprecated), RFC 3879
    'ff00::/8', // multicast
  ];
}

/**
 * Parse `allowedPrivateCidrs`: each entry must lie inside the private space. Loopback and link-local
 * addresses inside such an entry (`fd00:ec2::254` in `fd00::/8`) stay denied: their rules come first.
 */
export function parseAllowedPrivateCidrs(inputs: string[], spaces: AddressSpaces): CidrSet {
  const neverAllowed = spaces.localhost.plus(spaces.linkLocal);
  const cidrs = inputs.map((input) => {
    const c = parseCidr(input, 'allowedPrivateCidrs entry');
    if (!spaces.private.covers(c)) {
      throw new Error(
        neverAllowed.overlaps(c)
          ? `Invalid allowedPrivateCidrs entry '${input}': loopback and link-local addresses (instance metadata, ` +
              'ECS and EKS credentials) are never reachable through the proxy'
          : `Invalid allowedPrivateCidrs entry '${input}': it is not (entirely) private or special-purpose address space; ` +
              'public destinations need no entry (list their names in allowedDomains)',
      );
    }
    return c;
  });
  return new CidrSet(cidrs);
}
