import { isIP } from 'node:net';
import { CidrSet, parseCidr, parseEndpointId } from './private/cidr';
import { isIpLiteral, normaliseRequestHost, parseDomainEntry } from './private/domain-name';
import { DomainSet } from './private/domain-set';
import { wildcardCoversPublicSuffix } from './private/public-suffix';
import { LINK_LOCAL, LOCALHOST } from './private/reserved-addresses';

/**
 * Whether the policy blocks what it does not allow, or only reports it.
 */
export enum EgressMode {
  /** Requests the policy does not allow are denied. */
  ENFORCE = 'enforce',
  /**
   * Every request is allowed, but each one that `ENFORCE` would deny is logged with the rule
   * that would have denied it, so teams can discover the domains they need before enforcing.
   *
   * Localhost and link-local destinations (instance metadata) stay denied even in audit mode.
   */
  AUDIT = 'audit',
}

/**
 * The rule that decided a request. The same names appear in the proxy's access log.
 */
export enum EgressRule {
  /** The request passed every rule and its destination is on the allowlist. */
  ALLOWLISTED = 'allowlisted',
  /** The client address (from PROXY protocol v2) is not in `sourceCidrs`. */
  SOURCE_NOT_ALLOWED = 'source-not-allowed',
  /** The VPC endpoint ID (from PROXY protocol v2) is not in `allowedEndpointIds`. */
  ENDPOINT_NOT_ALLOWED = 'endpoint-not-allowed',
  /** The destination port is not allowed for this kind of request. */
  PORT_NOT_ALLOWED = 'port-not-allowed',
  /** A plain-HTTP (non-CONNECT) request while `allowPlainHttp` is off. */
  PLAIN_HTTP_NOT_ALLOWED = 'plain-http-not-allowed',
  /** The destination is an IP address (dotted, decimal, hex, octal or IPv6), never a host name. */
  IP_LITERAL = 'ip-literal',
  /** The destination host name is not on the allowlist. */
  DESTINATION_NOT_ALLOWED = 'destination-not-allowed',
  /** The TLS server name (SNI) in the tunnel is not on the allowlist. */
  SNI_NOT_ALLOWED = 'sni-not-allowed',
  /** The bytes in a CONNECT tunnel are not a TLS handshake. */
  NOT_TLS = 'not-tls',
  /** The destination resolves to a loopback or unspecified address. */
  TO_LOCALHOST = 'to-localhost',
  /** The destination resolves to a link-local address (instance metadata, ECS/EKS credentials). */
  TO_LINK_LOCAL = 'to-link-local',
}

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
   * @default - no destinations (only valid in `AUDIT` mode)
   */
  readonly allowedDomains?: string[];

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
   * Enforce the policy, or only log what it would deny.
   *
   * @default EgressMode.ENFORCE
   */
  readonly mode?: EgressMode;
}

/**
 * One request, as the proxy sees it, for {@link EgressPolicy.evaluate}.
 */
export interface EgressRequest {
  /** The requested host: the CONNECT authority's host, or the host of a plain-HTTP URL. */
  readonly host: string;
  /**
   * The requested port.
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
   * The address the host resolves to at the proxy.
   * @default - not checked
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
}

/**
 * What the proxy may reach, and from where: validated allowlist, ports, sources and mode.
 *
 * Bad input fails in the constructor with an error that names the value and the rule it broke.
 * {@link evaluate} decides a request in-process exactly as the rendered Squid configuration does,
 * so an allowlist can be unit-tested.
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
  /** The normalised allowlist in Squid `dstdomain` form (`.name` = name and subdomains). */
  public readonly domains: string[];
  /**
   * Names whose subdomains are allowed but which are not allowed themselves
   * (from `*.name` entries).
   */
  public readonly subdomainOnlyNames: string[];
  /** Soft problems found in the input (dropped duplicates, wildcards over public suffixes, audit mode). */
  public readonly warnings: string[];

  private readonly domainSet: DomainSet;
  private readonly sources?: CidrSet;
  private readonly endpoints?: Set<string>;

  /**
   * @param props the allowlist, ports, sources and mode; validated here (bad input throws)
   */
  constructor(props: EgressPolicyProps) {
    this.mode = props.mode ?? EgressMode.ENFORCE;
    if (!Object.values(EgressMode).includes(this.mode)) {
      throw new Error(`Invalid mode '${this.mode}': expected one of ${Object.values(EgressMode).join(', ')}`);
    }
    const domains = props.allowedDomains ?? [];
    this.domainSet = new DomainSet(domains.map(parseDomainEntry));
    if (this.mode === EgressMode.ENFORCE && this.domainSet.size === 0) {
      throw new Error(
        'Invalid policy: allowedDomains is empty, so enforce mode would deny everything. ' +
          'List the destinations to allow, or use EgressMode.AUDIT to discover them.',
      );
    }

    const ports = props.ports ?? [443];
    if (ports.length === 0) throw new Error('Invalid ports []: give at least one port (the default is [443])');
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) {
        throw new Error(`Invalid port ${p}: ports must be whole numbers from 1 to 65535`);
      }
    }
    this.ports = [...new Set(ports)].sort((a, b) => a - b);
    this.allowPlainHttp = props.allowPlainHttp ?? false;

    const cidrs = (props.sourceCidrs ?? []).map((c) => parseCidr(c, 'source CIDR'));
    this.sourceCidrs = [...new Set(cidrs.map((c) => c.text))];
    this.sources = cidrs.length > 0 ? new CidrSet(cidrs) : undefined;
    if (props.sourceCidrs !== undefined && props.sourceCidrs.length === 0) {
      throw new Error('Invalid sourceCidrs []: an empty list would deny every client; omit it to allow any source');
    }

    const ids = (props.allowedEndpointIds ?? []).map(parseEndpointId);
    if (props.allowedEndpointIds !== undefined && ids.length === 0) {
      throw new Error(
        'Invalid allowedEndpointIds []: an empty list would deny every client; omit it to allow any endpoint',
      );
    }
    this.allowedEndpointIds = [...new Set(ids)].sort();
    this.endpoints = ids.length > 0 ? new Set(ids) : undefined;

    this.domains = this.domainSet.squidEntries();
    this.subdomainOnlyNames = this.domainSet.subdomainOnlyApexes();

    const warnings = [...this.domainSet.dropped];
    for (const name of this.domainSet.wildcardNames()) {
      if (wildcardCoversPublicSuffix(name)) {
        warnings.push(
          `The wildcard '.${name}' covers a public suffix: anyone can register a name under it ` +
            '(for example an S3 bucket or an EC2 public host name under .amazonaws.com) and receive data ' +
            'through the proxy. List exact host names instead (AwsEndpoints.hostnames builds them for AWS services).',
        );
      }
    }
    if (this.mode === EgressMode.AUDIT) {
      warnings.push(
        'The egress policy is in AUDIT mode: every destination is allowed and only logged. Switch to ENFORCE once the allowlist is complete.',
      );
    }
    this.warnings = warnings;
  }

  /**
   * Decide a request the way the proxy would.
   */
  public evaluate(request: EgressRequest): EgressDecision {
    const audit = this.mode === EgressMode.AUDIT;
    const method = (request.method ?? 'CONNECT').toUpperCase();
    const connect = method === 'CONNECT';
    const port = request.port ?? (connect ? 443 : 80);
    const host = normaliseRequestHost(request.host);

    // Hard denies hold in every mode; in audit mode they are checked first.
    const hard = (): EgressRule | undefined => {
      const addr = request.resolvedAddress;
      if (addr === undefined || isIP(addr) === 0) return undefined;
      if (LOCALHOST.contains(addr)) return EgressRule.TO_LOCALHOST;
      if (LINK_LOCAL.contains(addr)) return EgressRule.TO_LINK_LOCAL;
      return undefined;
    };
    const policyRule = (): EgressRule | undefined => {
      if (this.sources && !(request.sourceAddress && this.sources.contains(request.sourceAddress))) {
        return EgressRule.SOURCE_NOT_ALLOWED;
      }
      if (this.endpoints && !(request.endpointId && this.endpoints.has(request.endpointId))) {
        return EgressRule.ENDPOINT_NOT_ALLOWED;
      }
      if (connect) {
        if (!this.ports.includes(port)) return EgressRule.PORT_NOT_ALLOWED;
      } else {
        if (!this.allowPlainHttp) return EgressRule.PLAIN_HTTP_NOT_ALLOWED;
        if (port !== 80) return EgressRule.PORT_NOT_ALLOWED;
      }
      if (host === undefined) return EgressRule.DESTINATION_NOT_ALLOWED;
      if (isIpLiteral(host)) return EgressRule.IP_LITERAL;
      if (!this.domainSet.matches(host)) return EgressRule.DESTINATION_NOT_ALLOWED;
      return undefined;
    };
    const tunnelRule = (): EgressRule | undefined => {
      if (!connect) return undefined;
      if (request.tls === false) return EgressRule.NOT_TLS;
      if (request.sni !== undefined) {
        // RFC 6066: an SNI host name has no trailing dot; one that does is not normalised.
        const sni = request.sni.toLowerCase();
        if (sni.endsWith('.') || isIpLiteral(sni) || !this.domainSet.matches(sni)) return EgressRule.SNI_NOT_ALLOWED;
      }
      return undefined;
    };

    if (audit) {
      const h = hard();
      if (h) return { allowed: false, rule: h, audited: false };
      const would = policyRule() ?? tunnelRule();
      return would
        ? { allowed: true, rule: would, audited: true }
        : { allowed: true, rule: EgressRule.ALLOWLISTED, audited: false };
    }
    const denied = policyRule() ?? hard() ?? tunnelRule();
    return denied
      ? { allowed: false, rule: denied, audited: false }
      : { allowed: true, rule: EgressRule.ALLOWLISTED, audited: false };
  }
}
