import { ChainPolicy, ChainRule, ChainStep, chainRules, inScope } from './decision-chain';
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

  const httpAccess = httpAccessHead(files.identity);
  const sslBump: string[] = ['ssl_bump terminate egress_refused', 'ssl_bump peek egress_step1'];
  const unsupported: string[] = [];
  if (p.audit) {
    // A request a policy rule already marked keeps that rule: tunnel it as it is.
    sslBump.push('ssl_bump splice egress_pending egress_handoff egress_client_tunnel');
    unsupported.push('on_unsupported_protocol tunnel egress_pending egress_handoff egress_client_tunnel');
  }
  const byRule: ChainLines['byRule'] = [];
  for (const rule of chainRules()) {
    if (!rule.present(p)) continue;
    const lines = renderRule(rule, p, use);
    byRule.push({ id: rule.id, lines });
    const target =
      rule.step === ChainStep.REQUEST ? httpAccess : rule.step === ChainStep.TLS_SNI ? sslBump : unsupported;
    const kind = rule.guardrail ? 'guardrail, every mode' : p.audit ? 'policy, audit: mark and go on' : 'policy';
    target.push(`# ${rule.rule} (${rule.id}; ${kind}): checks that ${rule.checks}`, ...lines);
  }
  httpAccess.push(...httpAccessTail(p.audit));
  sslBump.push('ssl_bump splice all egress_handoff egress_client_tunnel');
  return { acls, httpAccess, sslBump, onUnsupportedProtocol: unsupported, byRule };
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

/**
 * The condition of a rule as Squid text; defines (appends to `acls`) each ACL it names the first
 * time one is used (`all` and the identity helper's `egress_endpoint` are defined elsewhere).
 */
function conditionAcls(acls: string[], defs: Record<string, string>): (names: string[]) => string {
  const defined = new Set<string>();
  return (names) => {
    for (const a of names) {
      const name = a.startsWith('!') ? a.slice(1) : a;
      if (name === 'all' || name === 'egress_endpoint' || defined.has(name)) continue;
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
function httpAccessTail(audit: boolean): string[] {
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
    'http_access deny all',
  );
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
