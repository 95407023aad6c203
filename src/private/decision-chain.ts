import { Address, CidrSet } from './cidr';
import { isIpLiteral } from './domain-name';
import { DomainSet } from './domain-set';
import { RequestHost } from './request-host';
import { EgressRule } from '../egress-rule';

/**
 * The one place the proxy's rules are written. Each entry says what it checks, to which requests it
 * applies, whether it is a guardrail (denied in every mode) or a policy rule (audit mode logs it and
 * lets the request through), how `EgressPolicy.evaluate()` tests it, and which Squid ACLs express
 * it. `evaluate()` walks this table; `SquidConfig.render()` walks the same table to write the
 * `http_access`, `on_unsupported_protocol` and `ssl_bump` lines, in the same order.
 */

/** What the chain needs to know about a policy (built by `EgressPolicy`). */
export interface ChainPolicy {
  readonly audit: boolean;
  readonly ports: ReadonlyArray<number>;
  readonly allowPlainHttp: boolean;
  /** Client networks; undefined = any source. */
  readonly sources?: CidrSet;
  /** Allowed VPC endpoint IDs; undefined = any endpoint. */
  readonly endpoints?: ReadonlySet<string>;
  readonly domains: DomainSet;
  /** Loopback and unspecified destinations. */
  readonly localhost: CidrSet;
  /** Link-local destinations. */
  readonly linkLocal: CidrSet;
  /** Private and special-purpose destinations not opened by `allowedPrivateCidrs`. */
  readonly deniedPrivate: CidrSet;
  /** Render-time facts the policy itself does not hold (evaluate() has none of them). */
  readonly providerVpc?: CidrSet;
  /** Consumers with destinations of their own, in policy order (empty: one list for everyone). */
  readonly consumers: ReadonlyArray<ChainConsumer>;
}

/**
 * A consumer: the clients it names (by VPC endpoint ID, source address, or both) may also reach its
 * own destinations, on top of the policy's shared list.
 */
export interface ChainConsumer {
  readonly name: string;
  /** Endpoint IDs; undefined = the endpoint does not matter. */
  readonly endpoints?: ReadonlySet<string>;
  /** Client networks; undefined = the source does not matter. */
  readonly sources?: CidrSet;
  readonly domains: DomainSet;
}

/** A request, validated and read the way Squid reads it. */
export interface ChainRequest {
  readonly connect: boolean;
  readonly port: number;
  readonly host: RequestHost;
  /** The addresses Squid would connect to: the literal's own, or the DNS answers given. */
  readonly addresses: ReadonlyArray<Address>;
  readonly tls: boolean;
  readonly sni?: string;
  readonly source?: Address;
  readonly endpointId?: string;
  /** The policy's consumers the client is ({@link consumersOf}), found once per request. */
  readonly consumers: ReadonlyArray<ChainConsumer>;
}

/** Where Squid applies a rule. */
export enum ChainStep {
  /** `http_access`, on the CONNECT request or the plain-HTTP request. */
  REQUEST = 'request',
  /** `on_unsupported_protocol`: the first bytes in a CONNECT tunnel are not a TLS handshake. */
  TLS_START = 'tls-start',
  /** `ssl_bump` at step 2, after peeking at the TLS client hello. */
  TLS_SNI = 'tls-sni',
}

/** To which requests a rule applies. */
export type ChainScope = 'connect' | 'plain' | 'both';

/** The Squid side of a rule: the ACL condition that matches a request the rule denies. */
export interface SquidCondition {
  /** ACL names, ANDed, `!` for negation (e.g. `!egress_sources`). */
  readonly acls: string[];
}

/** One rule of the chain. */
export interface ChainRule {
  /** Unique, stable, for tests and comments (`destination-not-listed`). */
  readonly id: string;
  readonly rule: EgressRule;
  /** What it checks, in words (rendered as a comment above its Squid lines). */
  readonly checks: string;
  /** Denied in every mode; audit mode never opens it. */
  readonly guardrail: boolean;
  readonly scope: ChainScope;
  readonly step: ChainStep;
  /** Whether this policy has the rule at all (e.g. no source rule without `sourceCidrs`). */
  readonly present: (p: ChainPolicy) => boolean;
  /**
   * True when the rule denies the request. Undefined for a rule on facts only the renderer has
   * (the provider VPC): `evaluate()` cannot apply it.
   */
  readonly denies?: (r: ChainRequest, p: ChainPolicy) => boolean;
  /** The Squid condition under which the rule denies. */
  readonly squid: (p: ChainPolicy) => SquidCondition;
}

/** True when any address of the request is in the set (Squid's `dst` matches on any DNS answer). */
function anyIn(set: CidrSet, r: ChainRequest): boolean {
  for (const a of r.addresses) if (set.contains(a)) return true;
  return false;
}

/** True when the SNI would be refused by a list (`ssl::server_name`). */
function sniNotListed(sni: string, domains: DomainSet): boolean {
  // RFC 6066: an SNI host name has no trailing dot, and Squid does not remove one: a name that ends
  // in a dot never equals a (normalised) allowlist entry, so it is refused.
  const s = sni.toLowerCase();
  return isIpLiteral(s) || !domains.matches(s);
}

/**
 * True when the client is this consumer: its endpoint ID is listed (when the consumer lists
 * endpoints) and its source address is in the consumer's networks (when it lists networks).
 */
export function isConsumer(c: ChainConsumer, r: Pick<ChainRequest, 'source' | 'endpointId'>): boolean {
  const endpointOk = c.endpoints === undefined || (r.endpointId !== undefined && c.endpoints.has(r.endpointId));
  const sourceOk = c.sources === undefined || (r.source !== undefined && c.sources.contains(r.source));
  return endpointOk && sourceOk;
}

/** The consumers the client is, in policy order (what the access log's `consumer=` names). */
export function consumersOf(p: ChainPolicy, r: Pick<ChainRequest, 'source' | 'endpointId'>): ChainConsumer[] {
  const out: ChainConsumer[] = [];
  for (const c of p.consumers) if (isConsumer(c, r)) out.push(c);
  return out;
}

/** True when a list allows a host name outright: listed, and not the apex of a `*.name` entry. */
function listAllows(domains: DomainSet, name: string): boolean {
  return domains.matches(name) && !domains.isSubdomainOnlyApex(name);
}

/** True when one of the client's consumers lists the destination host name. */
function destinationGranted(r: ChainRequest): boolean {
  const host = r.host;
  return host.kind === 'name' && r.consumers.some((c) => listAllows(c.domains, host.name));
}

/** True when one of the client's consumers lists the TLS server name. */
function sniGranted(sni: string, r: ChainRequest): boolean {
  return r.consumers.some((c) => !sniNotListed(sni, c.domains) && !c.domains.isSubdomainOnlyApex(sni.toLowerCase()));
}

/** The Squid condition a destination rule adds when consumers may open what the shared list does not. */
function unlessGranted(p: ChainPolicy, acl: 'egress_consumer_destination' | 'egress_consumer_sni'): string[] {
  return p.consumers.length > 0 ? [`!${acl}`] : [];
}

/**
 * The chain, in order: the first rule that denies decides (in audit mode: the first guardrail).
 * Built afresh on each call; a policy builds it once.
 */
export function chainRules(): ChainRule[] {
  return [
    {
      id: 'source-not-listed',
      rule: EgressRule.SOURCE_NOT_ALLOWED,
      checks: 'the client address from PROXY protocol v2 is in sourceCidrs',
      guardrail: false,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: (p) => p.sources !== undefined,
      denies: (r, p) => !(r.source !== undefined && p.sources!.contains(r.source)),
      squid: () => ({ acls: ['!egress_sources'] }),
    },
    {
      id: 'endpoint-not-listed',
      rule: EgressRule.ENDPOINT_NOT_ALLOWED,
      checks: 'the VPC endpoint ID from PROXY protocol v2 is in allowedEndpointIds',
      guardrail: false,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: (p) => p.endpoints !== undefined,
      denies: (r, p) => !(r.endpointId !== undefined && p.endpoints!.has(r.endpointId)),
      squid: () => ({ acls: ['!egress_endpoint'] }),
    },
    {
      id: 'connect-port',
      rule: EgressRule.PORT_NOT_ALLOWED,
      checks: 'a CONNECT goes to one of the policy ports',
      guardrail: false,
      scope: 'connect',
      step: ChainStep.REQUEST,
      present: () => true,
      denies: (r, p) => !p.ports.includes(r.port),
      squid: () => ({ acls: ['!egress_tls_ports'] }),
    },
    {
      id: 'plain-http-off',
      rule: EgressRule.PLAIN_HTTP_NOT_ALLOWED,
      checks: 'plain HTTP (any method but CONNECT) is refused while allowPlainHttp is off',
      guardrail: false,
      scope: 'plain',
      step: ChainStep.REQUEST,
      present: (p) => !p.allowPlainHttp,
      denies: () => true,
      squid: () => ({ acls: ['all'] }),
    },
    {
      id: 'plain-http-port',
      rule: EgressRule.PORT_NOT_ALLOWED,
      checks: 'plain HTTP goes to port 80',
      guardrail: false,
      scope: 'plain',
      step: ChainStep.REQUEST,
      present: (p) => p.allowPlainHttp,
      denies: (r) => r.port !== 80,
      squid: () => ({ acls: ['!egress_plain_ports'] }),
    },
    {
      id: 'ip-literal',
      rule: EgressRule.IP_LITERAL,
      checks: 'the destination is a host name, not an IP literal in any notation',
      guardrail: false,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: () => true,
      denies: (r) => r.host.kind !== 'name',
      squid: () => ({ acls: ['egress_ip_literal'] }),
    },
    {
      id: 'invalid-ip-literal',
      rule: EgressRule.INVALID_IP_LITERAL,
      checks: 'a destination shaped like an IP literal is an address Squid parses (no DNS name ends in a number)',
      guardrail: true,
      scope: 'both',
      step: ChainStep.REQUEST,
      // In enforce mode the ip-literal rule before it already denies every host it could match.
      present: (p) => p.audit,
      denies: (r) => r.host.kind === 'invalid-ip',
      squid: () => ({ acls: ['egress_ip_literal', '!egress_numeric_host'] }),
    },
    {
      id: 'destination-subdomain-only',
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
      checks: 'the destination is not the apex of a *.name entry (Squid’s .name would match it)',
      guardrail: false,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: (p) => p.domains.hasSubdomainOnlyApexes,
      denies: (r, p) => r.host.kind === 'name' && p.domains.isSubdomainOnlyApex(r.host.name) && !destinationGranted(r),
      squid: (p) => ({ acls: ['egress_subdomain_only_names', ...unlessGranted(p, 'egress_consumer_destination')] }),
    },
    {
      id: 'destination-not-listed',
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
      checks: "the destination host name is on the allowlist, or on the list of one of the client's consumers",
      guardrail: false,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: () => true,
      denies: (r, p) => !(r.host.kind === 'name' && p.domains.matches(r.host.name)) && !destinationGranted(r),
      squid: (p) => ({ acls: ['!egress_allowed_domains', ...unlessGranted(p, 'egress_consumer_destination')] }),
    },
    {
      id: 'to-localhost',
      rule: EgressRule.TO_LOCALHOST,
      checks: 'no address of the destination is loopback or unspecified',
      guardrail: true,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: () => true,
      denies: (r, p) => anyIn(p.localhost, r),
      squid: () => ({ acls: ['egress_to_localhost'] }),
    },
    {
      id: 'to-link-local',
      rule: EgressRule.TO_LINK_LOCAL,
      checks: 'no address of the destination is link-local (instance metadata, ECS and EKS credentials)',
      guardrail: true,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: () => true,
      denies: (r, p) => anyIn(p.linkLocal, r),
      squid: () => ({ acls: ['egress_to_link_local'] }),
    },
    {
      id: 'to-private',
      rule: EgressRule.TO_PRIVATE,
      checks: 'no address of the destination is private or special-purpose space outside allowedPrivateCidrs',
      guardrail: true,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: (p) => !p.deniedPrivate.empty,
      denies: (r, p) => anyIn(p.deniedPrivate, r),
      squid: () => ({ acls: ['egress_to_private'] }),
    },
    {
      id: 'to-provider-vpc',
      rule: EgressRule.TO_PROVIDER_VPC,
      checks: "no address of the destination is in the provider VPC's CIDR blocks",
      guardrail: true,
      scope: 'both',
      step: ChainStep.REQUEST,
      present: (p) => p.providerVpc !== undefined,
      squid: () => ({ acls: ['egress_to_provider_vpc'] }),
    },
    {
      id: 'not-tls',
      rule: EgressRule.NOT_TLS,
      checks: 'the bytes in a CONNECT tunnel start a TLS handshake',
      guardrail: false,
      scope: 'connect',
      step: ChainStep.TLS_START,
      present: () => true,
      denies: (r) => !r.tls,
      squid: () => ({ acls: ['all'] }),
    },
    {
      id: 'sni-subdomain-only',
      rule: EgressRule.SNI_NOT_ALLOWED,
      checks: 'the TLS server name is not the apex of a *.name entry',
      guardrail: false,
      scope: 'connect',
      step: ChainStep.TLS_SNI,
      present: (p) => p.domains.hasSubdomainOnlyApexes,
      denies: (r, p) =>
        r.sni !== undefined && p.domains.isSubdomainOnlyApex(r.sni.toLowerCase()) && !sniGranted(r.sni, r),
      squid: (p) => ({ acls: ['egress_subdomain_only_sni', ...unlessGranted(p, 'egress_consumer_sni')] }),
    },
    {
      id: 'sni-not-listed',
      rule: EgressRule.SNI_NOT_ALLOWED,
      checks:
        "the TLS server name, when the client sends one, is on the allowlist or the list of one of the client's consumers",
      guardrail: false,
      scope: 'connect',
      step: ChainStep.TLS_SNI,
      present: () => true,
      denies: (r, p) => r.sni !== undefined && sniNotListed(r.sni, p.domains) && !sniGranted(r.sni, r),
      squid: (p) => ({ acls: ['!egress_allowed_sni', ...unlessGranted(p, 'egress_consumer_sni')] }),
    },
  ];
}

/** The outcome of walking the chain. */
export interface ChainDecision {
  readonly allowed: boolean;
  readonly rule: EgressRule;
  readonly audited: boolean;
}

/** True when the rule applies to this kind of request. */
export function inScope(rule: ChainRule, connect: boolean): boolean {
  return rule.scope === 'both' || rule.scope === (connect ? 'connect' : 'plain');
}

/**
 * Decide a request with the policy's rules of the chain (those `present` for it): the first rule
 * that denies decides. In audit mode a policy rule only marks the
 * request (the first one is the rule logged) and the walk goes on; a guardrail still denies.
 */
export function decide(p: ChainPolicy, rules: ReadonlyArray<ChainRule>, r: ChainRequest): ChainDecision {
  let wouldDeny: EgressRule | undefined;
  for (const rule of rules) {
    if (!inScope(rule, r.connect) || !rule.denies?.(r, p)) continue;
    if (rule.guardrail || !p.audit) return { allowed: false, rule: rule.rule, audited: false };
    wouldDeny ??= rule.rule;
  }
  return wouldDeny === undefined
    ? { allowed: true, rule: EgressRule.ALLOWLISTED, audited: false }
    : { allowed: true, rule: wouldDeny, audited: true };
}
