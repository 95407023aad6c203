import { EgressConsumer } from './egress-consumer';
import { EgressMode, EgressRule } from './egress-rule';
import { Address, Cidr, CidrSet, formatAddress, parseAddress, parseCidr, parseEndpointId } from './private/cidr';
import {
  ChainConsumer,
  ChainPolicy,
  ChainRequest,
  ChainRule,
  chainRules,
  consumersOf,
  decide,
} from './private/decision-chain';
import { parseDomainEntry } from './private/domain-name';
import { DomainSet } from './private/domain-set';
import { publicSuffixWildcard } from './private/public-suffix';
import { parseRequestHost } from './private/request-host';
import { addressSpaces, parseAllowedPrivateCidrs } from './private/reserved-addresses';

export * from './egress-rule';
export * from './egress-consumer';

/**
 * Properties of an {@link EgressPolicy}.
 */
export interface EgressPolicyProps {
  /**
   * Destination host names the proxy may reach.
   *
   * - `sts.us-east-1.amazonaws.com`: that name only.
   * - `.example.com`: `example.com` and every subdomain (Squid's meaning).
   * - `*.example.com`: every subdomain of `example.com`, but not `example.com` itself.
   *
   * Matching is case-insensitive and a trailing dot is ignored. Use
   * {@link AwsEndpoints.hostnames} to build exact AWS endpoint names instead of `.amazonaws.com`.
   *
   * @default - no destinations shared by every client (valid in `AUDIT` mode, or with `consumers`)
   */
  readonly allowedDomains?: string[];

  /**
   * Consumers with destinations of their own, for one proxy shared by several teams: each
   * consumer names its clients (by VPC endpoint ID, source CIDR, or both, from PROXY protocol v2)
   * and the extra host names they may reach. A client gets `allowedDomains` plus the lists of
   * every consumer it is; a client that is no consumer (an unknown endpoint, or no or a malformed
   * endpoint ID in the PROXY header) gets `allowedDomains` only. The access log names the
   * client's consumers (`consumer=payments`). Needs PROXY protocol (on in `EgressProxyProvider`).
   *
   * Every other rule still applies to a consumer's requests: `sourceCidrs`,
   * `allowedEndpointIds` (a consumer's endpoints and networks must lie within them when they are
   * set), ports, TLS, and the private-destination guardrails.
   *
   * @default - none: every client gets `allowedDomains`
   */
  readonly consumers?: EgressConsumer[];

  /**
   * TCP ports that CONNECT tunnels may open. Tunnels must carry TLS whatever the port.
   *
   * @default [443]
   */
  readonly ports?: number[];

  /**
   * Allow plain HTTP (non-CONNECT) requests to port 80 of allowlisted destinations.
   *
   * @default false
   */
  readonly allowPlainHttp?: boolean;

  /**
   * Client networks (IPv4 and IPv6 CIDR blocks) that may use the proxy, judged on the client
   * address that PROXY protocol v2 carries (behind an NLB the socket peer is always the NLB).
   *
   * @default - any source that reaches the proxy; the endpoint's security group and the
   * endpoint service's allowed principals then decide who can reach it.
   */
  readonly sourceCidrs?: string[];

  /**
   * VPC endpoint IDs (`vpce-…`) that may use the proxy, judged on the endpoint ID that the
   * NLB adds to PROXY protocol v2 for PrivateLink traffic.
   *
   * @default - any endpoint that the endpoint service accepts
   */
  readonly allowedEndpointIds?: string[];

  /**
   * Enforce the policy, or log and allow what its policy rules would deny (the guardrails deny in
   * every mode: see `EgressMode.AUDIT`).
   *
   * @default EgressMode.ENFORCE
   */
  readonly mode?: EgressMode;

  /**
   * Private and special-purpose networks the proxy may reach (IPv4 and IPv6 CIDR blocks), for
   * example an on-premises range routed from the provider VPC: `['10.20.0.0/16']`.
   *
   * By default the proxy refuses, in every mode, any destination that is, or has a DNS answer in,
   * private or special-purpose address space: RFC 1918, `100.64.0.0/10`, `198.18.0.0/15`,
   * `192.0.0.0/24`, the documentation ranges (`192.0.2.0/24`, `198.51.100.0/24`,
   * `203.0.113.0/24`, `2001:db8::/32`), multicast and reserved ranges, IPv6 unique-local
   * `fc00::/7`, and the IPv4-mapped, IPv4-compatible and NAT64 forms of these: everything IANA's
   * special-purpose registries mark as not globally reachable. A consumer then cannot use the
   * proxy to reach the provider's internal services or networks routed from its VPC, whatever a
   * DNS answer says (DNS rebinding). Documentation ranges are refused too: nothing public lives
   * there, and a network that uses them internally is private in practice.
   *
   * Each entry must lie inside that space (a public range needs no entry: list its names in
   * `allowedDomains`). Loopback and link-local addresses (instance metadata) are never
   * reachable, entry or not. A name is still refused when any of its DNS answers falls outside
   * the listed ranges. The destination's name must still be on the allowlist.
   *
   * @default - none: every private destination is refused
   */
  readonly allowedPrivateCidrs?: string[];
}

/**
 * One request, as the proxy sees it, for {@link EgressPolicy.evaluate}.
 *
 * `evaluate()` cannot know what DNS answers at run time. For a host name, give the answers the
 * proxy would get in `resolvedAddresses` to have the address rules (`to-localhost`,
 * `to-link-local`, `to-private`) checked; without them only the name is judged. An IP-literal host
 * is its own address.
 */
export interface EgressRequest {
  /**
   * The requested host: the CONNECT authority's host, or the host of a plain-HTTP URL. A host name,
   * or an IP literal in any notation Squid accepts (`192.0.2.1`, `3221225985`, `0xc0000201`,
   * `[2001:db8::1]`, `::ffff:192.0.2.1`). Trailing dots are removed and case is ignored, as Squid
   * does; an empty host, whitespace, or two dots in a row are an error.
   */
  readonly host: string;
  /**
   * The requested port, 1-65535.
   * @default 443 for CONNECT, 80 otherwise
   */
  readonly port?: number;
  /**
   * The HTTP method.
   * @default 'CONNECT'
   */
  readonly method?: string;
  /**
   * Whether the bytes inside a CONNECT tunnel start a TLS handshake.
   * @default true
   */
  readonly tls?: boolean;
  /**
   * The TLS server name indication the client sends inside the tunnel.
   * @default - no SNI (the CONNECT host is used)
   */
  readonly sni?: string;
  /**
   * Every address the host name resolves to at the proxy (its A and AAAA answers). The proxy
   * refuses a name when any answer is loopback, link-local, or private space that
   * `allowedPrivateCidrs` does not list, so one bad answer among good ones is enough.
   * Must not differ from the host when the host is an IP literal.
   * @default - DNS unknown: the address rules are not checked for a host name
   */
  readonly resolvedAddresses?: string[];
  /**
   * One address the host resolves to; the same as a one-element `resolvedAddresses` (both may be
   * given, and are then checked together).
   * @default - DNS unknown
   */
  readonly resolvedAddress?: string;
  /**
   * The client address (from PROXY protocol v2).
   * @default - unknown: denied when the policy sets `sourceCidrs`
   */
  readonly sourceAddress?: string;
  /**
   * The client's VPC endpoint ID (from PROXY protocol v2).
   * @default - none: denied when the policy sets `allowedEndpointIds`
   */
  readonly endpointId?: string;
}

/**
 * The outcome of {@link EgressPolicy.evaluate}.
 */
export interface EgressDecision {
  /** Whether the proxy lets the request through. */
  readonly allowed: boolean;
  /** The rule that decided; in audit mode, the rule that enforce mode would have applied. */
  readonly rule: EgressRule;
  /** True when audit mode let through a request that enforce mode would deny. */
  readonly audited: boolean;
  /**
   * The names of the policy's consumers the client is (from `endpointId` and `sourceAddress`), in
   * policy order, as the access log's `consumer=` field lists them; empty when it is none.
   */
  readonly consumers: string[];
}

/**
 * What the proxy may reach, and from where: validated allowlist, ports, sources and mode.
 *
 * Bad input fails in the constructor with an error that names the value and the rule it broke.
 * {@link evaluate} decides a request in-process from the same rule table the Squid configuration is
 * rendered from, so an allowlist can be unit-tested; what it cannot know is DNS at run time (see
 * {@link EgressRequest}) and the provider VPC's CIDR blocks (a render option).
 *
 * @example
 * const policy = new EgressPolicy({
 *   allowedDomains: ['sts.us-east-1.amazonaws.com', '.example.com'],
 * });
 * policy.evaluate({ host: 'sts.us-east-1.amazonaws.com' }).allowed; // true
 */
export class EgressPolicy {
  /** Enforce or audit. */
  public readonly mode: EgressMode;
  /** Ports CONNECT tunnels may open, sorted. */
  public readonly ports: number[];
  /** Whether plain HTTP to port 80 is allowed. */
  public readonly allowPlainHttp: boolean;
  /** Client CIDR blocks, canonical; empty means any source. */
  public readonly sourceCidrs: string[];
  /** Allowed VPC endpoint IDs; empty means any endpoint. */
  public readonly allowedEndpointIds: string[];
  /** Private CIDR blocks the proxy may reach, canonical; empty means none. */
  public readonly allowedPrivateCidrs: string[];
  /**
   * The private and special-purpose destinations the proxy refuses: the private space minus
   * `allowedPrivateCidrs`, as the fewest CIDR blocks (what Squid's `dst` ACL receives).
   */
  public readonly deniedPrivateCidrs: string[];
  /** The normalised allowlist in Squid `dstdomain` form (`.name` = name and subdomains). */
  public readonly domains: string[];
  /**
   * The consumers, validated: endpoint IDs sorted, CIDR blocks canonical, destinations normalised
   * to Squid `dstdomain` form.
   */
  public readonly consumers: EgressConsumer[];
  /**
   * Names whose subdomains are allowed but which are not allowed themselves
   * (from `*.name` entries).
   */
  public readonly subdomainOnlyNames: string[];
  /**
   * Soft problems found in the input (dropped duplicates, wildcards over private-section public
   * suffixes, audit mode).
   */
  public readonly warnings: string[];

  private readonly chain: ChainPolicy;
  /** The rules of the decision chain this policy has, in order. */
  private readonly rules: ChainRule[];

  /**
   * @param props the allowlist, ports, sources and mode; validated here (bad input throws)
   */
  constructor(props: EgressPolicyProps) {
    this.mode = readMode(props.mode);
    const domainSet = readAllowedDomains(props.allowedDomains ?? [], this.mode, (props.consumers ?? []).length > 0);
    this.ports = readPorts(props.ports ?? [443]);
    this.allowPlainHttp = props.allowPlainHttp ?? false;
    const cidrs = readSourceCidrs(props.sourceCidrs);
    this.sourceCidrs = [...new Set(cidrs.map((c) => c.text))];
    const ids = readEndpointIds(props.allowedEndpointIds);
    this.allowedEndpointIds = [...new Set(ids)].sort();

    const spaces = addressSpaces();
    const allowedPrivate = parseAllowedPrivateCidrs(props.allowedPrivateCidrs ?? [], spaces);
    this.allowedPrivateCidrs = allowedPrivate.toCidrs();
    const deniedPrivate = spaces.private.minus(allowedPrivate);
    this.deniedPrivateCidrs = deniedPrivate.toCidrs();

    this.domains = domainSet.squidEntries();
    this.subdomainOnlyNames = domainSet.subdomainOnlyApexes();
    const consumers = readConsumers(props.consumers ?? [], cidrs, ids);
    this.consumers = consumers.map((c) => ({
      name: c.name,
      endpointIds: c.endpoints ? [...c.endpoints] : undefined,
      sourceCidrs: c.sources?.toCidrs(),
      allowedDomains: c.domains.squidEntries(),
    }));
    this.chain = {
      audit: this.mode === EgressMode.AUDIT,
      ports: this.ports,
      allowPlainHttp: this.allowPlainHttp,
      sources: cidrs.length > 0 ? new CidrSet(cidrs) : undefined,
      endpoints: ids.length > 0 ? new Set(ids) : undefined,
      domains: domainSet,
      localhost: spaces.localhost,
      linkLocal: spaces.linkLocal,
      deniedPrivate,
      consumers,
    };
    const chain = this.chain;
    this.rules = chainRules().filter((rule) => rule.present(chain));
    this.warnings = [
      ...domainSet.dropped,
      ...publicSuffixWarnings(domainSet),
      ...consumers.flatMap((c) =>
        [...c.domains.dropped, ...publicSuffixWarnings(c.domains)].map((w) => `Consumer '${c.name}': ${w}`),
      ),
      ...(this.mode === EgressMode.AUDIT ? [AUDIT_MODE_WARNING] : []),
    ];
  }

  /**
   * Decide a request the way the proxy would: the rules of the decision chain in order, the first
   * that denies decides (in audit mode policy rules only mark the request; guardrails deny).
   * Malformed input (an empty host, a port outside 1-65535, an address that is not one) throws an
   * error that names the field.
   */
  public evaluate(request: EgressRequest): EgressDecision {
    const r = this.readRequest(request);
    const d = decide(this.chain, this.rules, r);
    return { allowed: d.allowed, rule: d.rule, audited: d.audited, consumers: r.consumers.map((c) => c.name) };
  }

  /**
   * The decision chain's view of this policy, with render-time facts added.
   * @internal
   */
  public _chainPolicy(providerVpc?: CidrSet): ChainPolicy {
    return providerVpc ? { ...this.chain, providerVpc } : this.chain;
  }

  private readRequest(request: EgressRequest): ChainRequest {
    const method = request.method ?? 'CONNECT';
    const connect =
      method === 'CONNECT' ||
      (METHOD.test(method)
        ? method.toUpperCase() === 'CONNECT'
        : badRequest('method', method, 'expected an HTTP method such as CONNECT or GET'));
    const port = request.port ?? (connect ? 443 : 80);
    if (!isPort(port)) badRequest('port', port, 'ports are whole numbers from 1 to 65535');
    const host = parseRequestHost(request.host);
    let addresses: Address[] = [];
    if (request.resolvedAddresses !== undefined) {
      addresses = request.resolvedAddresses.map((a) => requestAddress('resolvedAddresses entry', a));
    }
    if (request.resolvedAddress !== undefined) {
      addresses.push(requestAddress('resolvedAddress', request.resolvedAddress));
    }
    if (host.kind === 'ip') {
      for (const a of addresses) {
        if (a !== host.address) {
          badRequest(
            'resolvedAddresses',
            formatAddress(a),
            `the host '${request.host}' is an IP literal: it is its own address`,
          );
        }
      }
      addresses = [host.address];
    }
    const source =
      request.sourceAddress === undefined ? undefined : requestAddress('sourceAddress', request.sourceAddress);
    const endpointId = request.endpointId;
    return {
      connect,
      port,
      host,
      addresses,
      tls: request.tls ?? true,
      sni: request.sni,
      source,
      endpointId,
      consumers: this.chain.consumers.length === 0 ? NO_CONSUMERS : consumersOf(this.chain, { source, endpointId }),
    };
  }
}

/**
 * The warning of a policy in audit mode: what it logs and lets through, and what it still denies
 * (the guardrails of the decision chain).
 */
const AUDIT_MODE_WARNING =
  'The egress policy is in AUDIT mode: a request that ENFORCE would deny for its source, endpoint, port, plain HTTP, ' +
  'an IP-literal destination, a destination or TLS server name not on the allowlist, or a tunnel that is not TLS is ' +
  'allowed and logged with that rule. The guardrails still deny: destinations that are, or resolve to, loopback, ' +
  'link-local (instance metadata), private or special-purpose space not in allowedPrivateCidrs, or the provider VPC, ' +
  'and hosts shaped like an IP literal that are not a valid address. Switch to ENFORCE once the allowlist is complete.';

function readMode(mode: EgressMode | undefined): EgressMode {
  const m = mode ?? EgressMode.ENFORCE;
  if (!Object.values(EgressMode).includes(m)) {
    throw new Error(`Invalid mode '${m}': expected one of ${Object.values(EgressMode).join(', ')}`);
  }
  return m;
}

function readAllowedDomains(entries: string[], mode: EgressMode, consumers: boolean): DomainSet {
  const domainSet = new DomainSet(entries.map((e) => parseDomainEntry(e)));
  if (mode === EgressMode.ENFORCE && domainSet.size === 0 && !consumers) {
    throw new Error(
      'Invalid allowedDomains []: with no allowed domains (and no consumers) enforce mode would deny everything. ' +
        'List the destinations to allow, or use EgressMode.AUDIT to discover them.',
    );
  }
  checkPublicSuffixes(domainSet, 'allowedDomains entry');
  return domainSet;
}

/** A wildcard over an ICANN public suffix (`*.com`) is an error. */
function checkPublicSuffixes(domainSet: DomainSet, what: string): void {
  for (const name of domainSet.wildcardNames()) {
    const suffix = publicSuffixWildcard(name);
    if (suffix?.section === 'icann') {
      throw new Error(
        `Invalid ${what} '${domainSet.wildcardInput(name)}': the wildcard covers the public suffix '${suffix.suffix}' ` +
          '(ICANN section of the Public Suffix List), where anyone can register a name and receive data through the proxy. ' +
          'List exact host names or a wildcard under a domain you control.',
      );
    }
  }
}

const CONSUMER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The consumers, validated: names, identities within the policy's own `sourceCidrs` and
 * `allowedEndpointIds` (a consumer outside them could never pass them), destinations.
 */
function readConsumers(consumers: EgressConsumer[], policySources: Cidr[], policyEndpoints: string[]): ChainConsumer[] {
  const names = new Map<string, string>();
  const sourceGate = policySources.length > 0 ? new CidrSet(policySources) : undefined;
  return consumers.map((c, i) => {
    const where = `consumers[${i}]`;
    if (typeof c.name !== 'string' || !CONSUMER_NAME.test(c.name)) {
      throw new Error(
        `Invalid ${where}.name '${c.name}': a consumer name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it is written to the access log)`,
      );
    }
    const what = `${where} ('${c.name}')`;
    const clash = names.get(c.name.toLowerCase());
    if (clash !== undefined) {
      throw new Error(`Invalid ${what}.name: the name is already used by '${clash}' (names are unique, ignoring case)`);
    }
    names.set(c.name.toLowerCase(), c.name);
    if (c.endpointIds === undefined && c.sourceCidrs === undefined) {
      throw new Error(`Invalid ${what}: give endpointIds, sourceCidrs or both to say which clients are this consumer`);
    }
    if (c.endpointIds !== undefined && c.endpointIds.length === 0) {
      throw new Error(`Invalid ${what}.endpointIds []: an empty list matches no client; omit it or list endpoint IDs`);
    }
    if (c.sourceCidrs !== undefined && c.sourceCidrs.length === 0) {
      throw new Error(`Invalid ${what}.sourceCidrs []: an empty list matches no client; omit it or list CIDR blocks`);
    }
    const ids = c.endpointIds?.map((id) => parseEndpointId(id, `${what}.endpointIds entry`));
    for (const id of ids ?? []) {
      if (policyEndpoints.length > 0 && !policyEndpoints.includes(id)) {
        throw new Error(
          `Invalid ${what}.endpointIds entry '${id}': it is not in the policy's allowedEndpointIds, which deny it before a consumer's destinations apply; add it there too`,
        );
      }
    }
    const cidrs = c.sourceCidrs?.map((s) => parseCidr(s, `${what}.sourceCidrs entry`));
    for (const cidr of cidrs ?? []) {
      if (sourceGate && !sourceGate.covers(cidr)) {
        throw new Error(
          `Invalid ${what}.sourceCidrs entry '${cidr.input}': it is not inside the policy's sourceCidrs, which deny those clients before a consumer's destinations apply`,
        );
      }
    }
    if (c.allowedDomains.length === 0) {
      throw new Error(
        `Invalid ${what}.allowedDomains []: list the destinations this consumer may reach beyond the shared list`,
      );
    }
    const domains = new DomainSet(c.allowedDomains.map((d) => parseDomainEntry(d, `${what}.allowedDomains`)));
    checkPublicSuffixes(domains, `${what}.allowedDomains entry`);
    return {
      name: c.name,
      endpoints: ids ? new Set([...ids].sort()) : undefined,
      sources: cidrs ? new CidrSet(cidrs) : undefined,
      domains,
    };
  });
}

/** Warnings for wildcards over private-section public suffixes (`*.amazonaws.com`). */
function publicSuffixWarnings(domainSet: DomainSet): string[] {
  const warnings: string[] = [];
  for (const name of domainSet.wildcardNames()) {
    const suffix = publicSuffixWildcard(name);
    if (suffix?.section === 'private') {
      warnings.push(
        `The wildcard '${domainSet.wildcardInput(name)}' covers the public suffix '${suffix.suffix}' (private section of the ` +
          'Public Suffix List): anyone can get a name under it (for example an S3 bucket or an EC2 public host name under ' +
          '.amazonaws.com) and receive data through the proxy. List exact host names instead: AwsEndpoints.hostnames builds ' +
          'them for AWS services, with s3Buckets and ecrAccountIds for the narrower S3 and ECR names.',
      );
    }
  }
  return warnings;
}

function readPorts(ports: number[]): number[] {
  if (ports.length === 0) throw new Error('Invalid ports []: give at least one port (the default is [443])');
  for (const p of ports) {
    if (!isPort(p)) throw new Error(`Invalid ports entry ${p}: a TCP port is a whole number from 1 to 65535`);
  }
  return [...new Set(ports)].sort((a, b) => a - b);
}

function readSourceCidrs(entries: string[] | undefined): Cidr[] {
  if (entries !== undefined && entries.length === 0) {
    throw new Error('Invalid sourceCidrs []: an empty list would deny every client; omit it to allow any source');
  }
  return (entries ?? []).map((c) => parseCidr(c, 'sourceCidrs entry'));
}

function readEndpointIds(entries: string[] | undefined): string[] {
  if (entries !== undefined && entries.length === 0) {
    throw new Error(
      'Invalid allowedEndpointIds []: an empty list would deny every client; omit it to allow any endpoint',
    );
  }
  return (entries ?? []).map((id) => parseEndpointId(id, 'allowedEndpointIds entry'));
}

const METHOD = /^[A-Za-z]+$/;

/** The consumers of a request when the policy has none (shared: no allocation per request). */
const NO_CONSUMERS: ReadonlyArray<ChainConsumer> = [];

function badRequest(field: string, value: unknown, rule: string): never {
  throw new Error(`Invalid request ${field} ${JSON.stringify(value)}: ${rule}`);
}

function requestAddress(field: string, text: string): Address {
  return parseAddress(text) ?? badRequest(field, text, 'not an IPv4 or IPv6 address');
}

function isPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}
