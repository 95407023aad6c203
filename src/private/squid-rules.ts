import { ChainConsumer, ChainPolicy, ChainRule, ChainStep, chainRules, inScope } from './decision-chain';
import { EgressRule } from '../egress-rule';

/** Where the chain's ACLs find their data. */
export interface ChainFiles {
  readonly allowedDomains: string;
  readonly subdomainOnlyNames?: string;
  /** The provider VPC's CIDR blocks (literal, or CloudFormation tokens). */
  readonly providerVpcCidrs?: string[];
  /** The endpoint-identity external ACL is configured (PROXY protocol on). */
  readonly identity: boolean;
}

/** The Squid lines the decision chain renders to, by directive. */
export interface ChainLines {
  readonly acls: string[];
  readonly httpAccess: string[];
  readonly sslBump: string[];
  readonly onUnsupportedProtocol: string[];
  /**
   * The consumers' ACLs (identity, own destinations), in a file of their own that squid.conf
   * includes; empty when the policy has no consumers.
   */
  readonly consumerAcls: string[];
  /**
   * For each rendered rule, in chain order: its id and the directive lines it produced (what the
   * chain's own tests compare with the table).
   */
  readonly byRule: Array<{ readonly id: string; readonly lines: string[] }>;
}

/** The name of the ACL that annotates a rule: per transaction (plain HTTP) or per client connection (CONNECT). */
export function ruleAcl(rule: EgressRule, connect: boolean): string {
  return `egress_${connect ? 'client_' : ''}rule_${rule.replace(/-/g, '_')}`;
}

/**
 * Render the decision chain to Squid. Refusals and audit marks are annotations:
 * - `egress_rule` (logged): the rule that decided. CONNECTs annotate the client connection, so
 *   Squid's own follow-up request for the tunnel (after the TLS peek) carries it; plain-HTTP
 *   requests annotate their transaction (a keep-alive connection carries several).
 * - `egress_pending` (audit mode): a policy rule would have denied; later policy rules leave
 *   `egress_rule` alone, guardrails still deny, and the request is finally allowed with
 *   `egress_audit=would-deny` (logged).
 * - `egress_refused`: a refused CONNECT, answered with a plain 403 by the rewriter path.
 * - `egress_handoff` / `egress_tunnel`: a tunnel the chain let through. Squid logs it under a
 *   follow-up request of its own; that request is allowed at once and logged, the original is not.
 */
export function renderChain(p: ChainPolicy, files: ChainFiles): ChainLines {
  const acls = annotationAcls();
  const use = conditionAcls(acls, conditionDefinitions(p, files));
  // The allowlist is always defined: the final allow line uses it.
  use(['egress_allowed_domains']);

  const httpAccess = [...httpAccessHead(files.identity), ...consumerHttpAccess(p.consumers)];
  const sslBump: string[] = ['ssl_bump terminate egress_refused', 'ssl_bump peek egress_step1'];
  const unsupported: string[] = [];
  if (p.audit) {
    // A request a policy rule already marked keeps that rule: tunnel it as it is.
    sslBump.push('ssl_bump splice egress_pending egress_handoff egress_client_tunnel');
    unsupported.push('on_unsupported_protocol tunnel egress_pending egress_handoff egress_client_tunnel');
  }
  const byRule: ChainLines['byRule'] = [];
  let sniGrants = consumerSslBump(p.consumers);
  for (const rule of chainRules()) {
    if (!rule.present(p)) continue;
    if (rule.step === ChainStep.TLS_SNI) {
      // The consumers' server names are marked just before the first server-name rule.
      sslBump.push(...sniGrants);
      sniGrants = [];
    }
    const lines = renderRule(rule, p, use);
    byRule.push({ id: rule.id, lines });
    const target =
      rule.step === ChainStep.REQUEST ? httpAccess : rule.step === ChainStep.TLS_SNI ? sslBump : unsupported;
    const kind = rule.guardrail ? 'guardrail, every mode' : p.audit ? 'policy, audit: mark and go on' : 'policy';
    target.push(`# ${rule.rule} (${rule.id}; ${kind}): checks that ${rule.checks}`, ...lines);
  }
  httpAccess.push(...httpAccessTail(p.audit, p.consumers.length > 0));
  sslBump.push('ssl_bump splice all egress_handoff egress_client_tunnel');
  const consumerAcls = consumerDefinitions(p.consumers);
  return { acls, httpAccess, sslBump, onUnsupportedProtocol: unsupported, consumerAcls, byRule };
}

/** Values per ACL line in the consumers' file (Squid appends the values of repeated `acl` lines). */
const VALUES_PER_LINE = 16;

/** The ACL name prefix of the consumer at `index` (0-based) in the policy. */
function consumerAcl(index: number): string {
  return `egress_c${index + 1}`;
}

/**
 * The consumers' ACLs. For consumer N (1-based, policy order): `egress_cN_endpoint` (the endpoint
 * ID the identity helper noted) and `egress_cN_source` (the PROXY protocol client address) say who
 * it is; `egress_cN_mark` and `egress_cN_log` annotate a client connection that is it, and
 * `egress_cN` reads the mark; `egress_cN_domains` and `egress_cN_sni` hold its own destinations,
 * `egress_cN_apex` and `egress_cN_apex_sni` the apexes of its `*.name` entries. The marks that
 * the chain's destination and server-name rules read are defined here too.
 */
function consumerDefinitions(consumers: ReadonlyArray<ChainConsumer>): string[] {
  if (consumers.length === 0) return [];
  const out = [
    '# Rendered by cdk-private-egress-proxy: the consumers of the egress policy, each with its own destinations.',
    'acl egress_identify annotate_client egress_identified=yes',
    'acl egress_identified note egress_identified yes',
    'acl egress_grant annotate_transaction egress_granted=yes',
    'acl egress_granted note egress_granted yes',
    'acl egress_sni_grant annotate_client egress_sni_granted=yes',
    'acl egress_sni_granted note egress_sni_granted yes',
  ];
  consumers.forEach((c, i) => {
    const n = consumerAcl(i);
    const domains = c.domains.squidEntries();
    const apexes = c.domains.subdomainOnlyApexes();
    const who = [
      c.endpoints ? `endpoints ${[...c.endpoints].join(' ')}` : undefined,
      c.sources ? `sources ${c.sources.toCidrs().join(' ')}` : undefined,
    ].filter((x) => x !== undefined);
    out.push('', `# consumer ${i + 1} '${c.name}': ${who.join('; ')}; ${domains.length} destinations`);
    if (c.endpoints) out.push(`acl ${n}_endpoint note endpoint ${[...c.endpoints].join(' ')}`);
    if (c.sources) out.push(`acl ${n}_source src ${c.sources.toCidrs().join(' ')}`);
    out.push(
      `acl ${n}_mark annotate_client ${n}=yes`,
      `acl ${n}_log annotate_client egress_consumer+=${c.name}`,
      `acl ${n} note ${n} yes`,
    );
    out.push(...valueLines(`${n}_domains dstdomain -n`, domains), ...valueLines(`${n}_sni ssl::server_name`, domains));
    if (apexes.length > 0) {
      out.push(
        ...valueLines(`${n}_apex dstdomain -n`, apexes),
        ...valueLines(`${n}_apex_sni ssl::server_name`, apexes),
      );
    }
  });
  return out;
}

/** `acl <name and type> <values>` lines, a few values each. */
function valueLines(head: string, values: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += VALUES_PER_LINE) {
    out.push(`acl ${head} ${values.slice(i, i + VALUES_PER_LINE).join(' ')}`);
  }
  return out;
}

/** The conditions that identify consumer N: its endpoint and/or source ACLs. */
function consumerIdentity(c: ChainConsumer, i: number): string {
  const n = consumerAcl(i);
  return [c.endpoints ? `${n}_endpoint` : undefined, c.sources ? `${n}_source` : undefined]
    .filter((x) => x !== undefined)
    .join(' ');
}

/**
 * `http_access` lines that only annotate (each ends in `!all`, so none ever matches): once per
 * client connection, mark each consumer the client is (and name it for the log); then, per request,
 * mark a destination that one of the client's consumers lists (`egress_granted`, read by the
 * destination rules).
 */
function consumerHttpAccess(consumers: ReadonlyArray<ChainConsumer>): string[] {
  if (consumers.length === 0) return [];
  const out = [
    '# Consumers: which consumers the client is (once per connection), then whether one of them lists the destination.',
  ];
  consumers.forEach((c, i) => {
    const n = consumerAcl(i);
    out.push(`http_access deny !egress_identified ${consumerIdentity(c, i)} ${n}_mark ${n}_log !all`);
  });
  out.push('http_access deny !egress_identified egress_identify !all');
  consumers.forEach((c, i) => {
    const n = consumerAcl(i);
    const apex = c.domains.hasSubdomainOnlyApexes ? ` !${n}_apex` : '';
    out.push(`http_access deny ${n} ${n}_domains${apex} egress_grant !all`);
  });
  return out;
}

/** `ssl_bump` lines that only annotate: a TLS server name that one of the client's consumers lists. */
function consumerSslBump(consumers: ReadonlyArray<ChainConsumer>): string[] {
  if (consumers.length === 0) return [];
  const out = ["# Consumers: whether one of the client's consumers lists the TLS server name (annotates only)."];
  consumers.forEach((c, i) => {
    const n = consumerAcl(i);
    const apex = c.domains.hasSubdomainOnlyApexes ? ` !${n}_apex_sni` : '';
    out.push(`ssl_bump terminate ${n} ${n}_sni${apex} egress_sni_grant !all`);
  });
  return out;
}

/** The ACLs that annotate and read the chain's marks (every policy has them all). */
function annotationAcls(): string[] {
  const acls: string[] = ['acl CONNECT method CONNECT'];
  for (const r of Object.values(EgressRule)) {
    acls.push(`acl ${ruleAcl(r, false)} annotate_transaction egress_rule=${r}`);
    acls.push(`acl ${ruleAcl(r, true)} annotate_client egress_rule=${r}`);
  }
  acls.push(
    'acl egress_pend annotate_transaction egress_pending=yes',
    'acl egress_client_pend annotate_client egress_pending=yes',
    'acl egress_pending note egress_pending yes',
    'acl egress_audit annotate_transaction egress_audit=would-deny',
    'acl egress_client_audit annotate_client egress_audit=would-deny',
    'acl egress_refuse annotate_transaction egress_refused=yes',
    'acl egress_refused note egress_refused yes',
    'acl egress_handoff annotate_transaction egress_handoff=yes',
    'acl egress_handed_off note egress_handoff yes',
    'acl egress_client_tunnel annotate_client egress_tunnel=yes',
    'acl egress_tunnel note egress_tunnel yes',
    'acl egress_step1 at_step SslBump1',
  );
  return acls;
}

/** The definition of each ACL a rule's condition may name, by ACL name. */
function conditionDefinitions(p: ChainPolicy, files: ChainFiles): Record<string, string> {
  return {
    egress_sources: `acl egress_sources src ${p.sources?.toCidrs().join(' ')}`,
    egress_tls_ports: `acl egress_tls_ports port ${p.ports.join(' ')}`,
    egress_plain_ports: 'acl egress_plain_ports port 80',
    // The same rule as isIpLiteral: IPv6 (contains ':' or starts with '['), or a last label that is a
    // number (decimal or 0x-hex).
    egress_ip_literal: 'acl egress_ip_literal dstdom_regex -n -i : ^\\[ (^|\\.)([0-9]+|0x[0-9a-f]*)\\.?$',
    // Matches hosts Squid parsed as an address, without any DNS lookup.
    egress_numeric_host: 'acl egress_numeric_host dst -n ::/1 8000::/1',
    egress_subdomain_only_names: `acl egress_subdomain_only_names dstdomain -n "${files.subdomainOnlyNames}"`,
    egress_allowed_domains: `acl egress_allowed_domains dstdomain -n "${files.allowedDomains}"`,
    egress_to_localhost: `acl egress_to_localhost dst ${p.localhost.toCidrs().join(' ')}`,
    egress_to_link_local: `acl egress_to_link_local dst ${p.linkLocal.toCidrs().join(' ')}`,
    egress_to_private: `acl egress_to_private dst ${p.deniedPrivate.toCidrs().join(' ')}`,
    egress_to_provider_vpc: `acl egress_to_provider_vpc dst ${(files.providerVpcCidrs ?? []).join(' ')}`,
    egress_subdomain_only_sni: `acl egress_subdomain_only_sni ssl::server_name "${files.subdomainOnlyNames}"`,
    egress_allowed_sni: `acl egress_allowed_sni ssl::server_name "${files.allowedDomains}"`,
  };
}

/** ACLs a rule may name that are defined elsewhere: Squid's own, the identity helper's, the consumers' marks. */
const DEFINED_ELSEWHERE = new Set(['all', 'egress_endpoint', 'egress_granted', 'egress_sni_granted']);

/**
 * The condition of a rule as Squid text; defines (appends to `acls`) each ACL it names the first
 * time one is used (`all` and the identity helper's `egress_endpoint` are defined elsewhere).
 */
function conditionAcls(acls: string[], defs: Record<string, string>): (names: string[]) => string {
  const defined = new Set<string>();
  return (names) => {
    for (const a of names) {
      const name = a.startsWith('!') ? a.slice(1) : a;
      if (DEFINED_ELSEWHERE.has(name) || defined.has(name)) continue;
      defined.add(name);
      acls.push(defs[name]);
    }
    return names.join(' ');
  };
}

/** The `http_access` lines before the chain's rules. */
function httpAccessHead(identity: boolean): string[] {
  const lines = [
    'http_access deny manager',
    // Squid's follow-up request for a tunnel the chain already let through (see egress_tunnel).
    `http_access allow egress_tunnel${identity ? ' egress_endpoint' : ''}`,
  ];
  if (identity) {
    // Ask the identity helper first, for the endpoint ID it adds to the log whichever rule decides.
    lines.push('http_access deny egress_endpoint !all');
  }
  return lines;
}

/** The `http_access` lines after the chain's rules: audit's allow of marked requests, the allowlist, deny all. */
function httpAccessTail(audit: boolean, consumers: boolean): string[] {
  const lines: string[] = [];
  if (audit) {
    lines.push(
      'http_access allow CONNECT egress_pending egress_client_audit',
      'http_access allow !CONNECT egress_pending egress_audit',
    );
  }
  lines.push(
    `http_access allow CONNECT egress_allowed_domains ${ruleAcl(EgressRule.ALLOWLISTED, true)}`,
    `http_access allow !CONNECT egress_allowed_domains ${ruleAcl(EgressRule.ALLOWLISTED, false)}`,
  );
  if (consumers) {
    lines.push(
      `http_access allow CONNECT egress_granted ${ruleAcl(EgressRule.ALLOWLISTED, true)}`,
      `http_access allow !CONNECT egress_granted ${ruleAcl(EgressRule.ALLOWLISTED, false)}`,
    );
  }
  lines.push('http_access deny all');
  return lines;
}

/** The lines of one rule, for each kind of request it applies to. */
function renderRule(rule: ChainRule, p: ChainPolicy, use: (acls: string[]) => string): string[] {
  const cond = use(rule.squid(p).acls);
  const deny = rule.guardrail || !p.audit;
  const out: string[] = [];
  for (const connect of [true, false]) {
    if (!inScope(rule, connect)) continue;
    const annotate = ruleAcl(rule.rule, connect);
    if (rule.step === ChainStep.REQUEST) {
      const scope = connect ? 'CONNECT' : '!CONNECT';
      if (!deny) {
        // Audit: mark the request with the first policy rule that would deny it, and go on.
        const pend = connect ? 'egress_client_pend' : 'egress_pend';
        out.push(`http_access deny ${scope} ${cond} !egress_pending ${annotate} ${pend} !all`);
      } else if (connect) {
        // A refused CONNECT is allowed here only to be redirected and answered with a plain 403.
        out.push(`http_access allow CONNECT ${cond} ${annotate} egress_refuse`);
      } else {
        out.push(`http_access deny !CONNECT ${cond} ${annotate}`);
      }
    } else {
      const mark = 'egress_client_pend egress_client_audit egress_handoff egress_client_tunnel';
      if (rule.step === ChainStep.TLS_SNI) {
        out.push(deny ? `ssl_bump terminate ${cond} ${annotate}` : `ssl_bump splice ${cond} ${annotate} ${mark}`);
      } else {
        out.push(
          deny
            ? `on_unsupported_protocol respond ${cond} ${annotate}`
            : `on_unsupported_protocol tunnel ${cond} ${annotate} ${mark}`,
        );
      }
    }
  }
  return out;
}
