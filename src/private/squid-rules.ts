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
  for (const rule of chainRules()) {
    if (!rule.present(p)) continue;
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

/** Up to four values for a comment line (which must stay short too), then how many more. */
function few(values: string[]): string {
  return values.length <= 4 ? values.join(' ') : `${values.slice(0, 4).join(' ')} and ${values.length - 4} more`;
}

/** The ACL name prefix of the consumer at `index` (0-based) in the policy. */
function consumerAcl(index: number): string {
  return `egress_c${index + 1}`;
}

/**
 * The consumers' ACLs, in their own file. Each consumer N (1-based, policy order) has:
 * - `egress_cN_endpoint` (the endpoint ID the identity helper noted) and/or `egress_cN_source`
 *   (the PROXY protocol client address): who it is;
 * - `egress_cN_is`: the client is it: mark the connection (`egress_cN`) and name it for the log
 *   (`egress_consumer+=name`); `egress_cN_check` evaluates that and always matches;
 * - `egress_cN_domains`/`egress_cN_sni` its own destinations, `egress_cN_apex`/`egress_cN_apex_sni`
 *   the apexes of its `*.name` entries; `egress_cN_dest`/`egress_cN_tls`: the client is it and its
 *   list holds the destination/server name.
 *
 * Then, over all consumers: `egress_consumers` runs every `egress_cN_check` (once per client
 * connection); `egress_consumer_destination` and `egress_consumer_sni` match when one of the
 * client's consumers lists the destination or server name. The destination and server-name rules
 * consult them only for names the shared list does not hold, so a request the shared list allows
 * never walks the consumers' lists.
 */
function consumerDefinitions(consumers: ReadonlyArray<ChainConsumer>): string[] {
  if (consumers.length === 0) return [];
  const out = [
    '# Rendered by cdk-private-egress-proxy: the consumers of the egress policy, each with its own destinations.',
    'acl egress_identify annotate_client egress_identified=yes',
    'acl egress_identified note egress_identified yes',
    'acl egress_grant annotate_transaction egress_granted=yes',
    'acl egress_granted note egress_granted yes',
  ];
  consumers.forEach((c, i) => {
    const n = consumerAcl(i);
    const domains = c.domains.squidEntries();
    const apexes = c.domains.subdomainOnlyApexes();
    const who = [
      c.endpoints ? `endpoints ${few([...c.endpoints])}` : undefined,
      c.sources ? `sources ${few(c.sources.toCidrs())}` : undefined,
    ].filter((x) => x !== undefined);
    out.push('', `# consumer ${i + 1} '${c.name}': ${who.join('; ')}; ${domains.length} destinations`);
    const identity: string[] = [];
    if (c.endpoints) {
      out.push(...valueLines(`${n}_endpoint note endpoint`, [...c.endpoints]));
      identity.push(`${n}_endpoint`);
    }
    if (c.sources) {
      out.push(...valueLines(`${n}_source src`, c.sources.toCidrs()));
      identity.push(`${n}_source`);
    }
    out.push(
      `acl ${n}_mark annotate_client ${n}=yes`,
      `acl ${n}_log annotate_client egress_consumer+=${c.name}`,
      `acl ${n} note ${n} yes`,
      `acl ${n}_is all-of ${identity.join(' ')} ${n}_mark ${n}_log`,
      `acl ${n}_check any-of ${n}_is all`,
    );
    out.push(...valueLines(`${n}_domains dstdomain -n`, domains), ...valueLines(`${n}_sni ssl::server_name`, domains));
    const apex = apexes.length > 0 ? [` !${n}_apex`, ` !${n}_apex_sni`] : ['', ''];
    // No lines without apexes.
    out.push(...valueLines(`${n}_apex dstdomain -n`, apexes), ...valueLines(`${n}_apex_sni ssl::server_name`, apexes));
    out.push(
      `acl ${n}_dest all-of ${n} ${n}_domains${apex[0]} egress_grant`,
      `acl ${n}_tls all-of ${n} ${n}_sni${apex[1]}`,
    );
  });
  out.push(...consumerGroups(consumers));
  return out;
}

/**
 * The walks over all consumers, in groups of {@link VALUES_PER_LINE}: a group is entered only when
 * its pre-check (every endpoint ID of its members, and the networks of those identified by network
 * alone: a superset of its members' clients) matches the client, so a walk costs a few ACL checks
 * per group plus those of one group's members, not a few per consumer.
 * - `egress_consumers` marks every consumer the client is (`egress_gK_check` per group);
 * - `egress_consumer_destination` / `egress_consumer_sni`: one of the client's consumers lists the
 *   destination / server name (only entered groups, marked `egress_gK`, are searched).
 */
function consumerGroups(consumers: ReadonlyArray<ChainConsumer>): string[] {
  const out: string[] = [];
  const checks: string[] = [];
  const dests: string[] = [];
  const tls: string[] = [];
  for (let first = 0; first < consumers.length; first += VALUES_PER_LINE) {
    const members = consumers.slice(first, first + VALUES_PER_LINE);
    const k = `egress_g${first / VALUES_PER_LINE + 1}`;
    const ids = members.flatMap((c) => (c.endpoints ? [...c.endpoints] : []));
    const nets = members.flatMap((c) => (c.endpoints === undefined && c.sources ? c.sources.toCidrs() : []));
    const names = (suffix: string) => members.map((_, i) => `${consumerAcl(first + i)}${suffix}`).join(' ');
    out.push('', `# group ${first / VALUES_PER_LINE + 1}: consumers ${first + 1}-${first + members.length}`);
    const pre: string[] = [];
    if (ids.length > 0) {
      out.push(...valueLines(`${k}_endpoint note endpoint`, ids, Infinity));
      pre.push(`${k}_endpoint`);
    }
    if (nets.length > 0) {
      out.push(...valueLines(`${k}_source src`, nets, Infinity));
      pre.push(`${k}_source`);
    }
    out.push(
      `acl ${k}_pre any-of ${pre.join(' ')}`,
      `acl ${k}_mark annotate_client ${k}=yes`,
      `acl ${k} note ${k} yes`,
      `acl ${k}_members all-of ${names('_check')}`,
      `acl ${k}_scan all-of ${k}_pre ${k}_mark ${k}_members`,
      `acl ${k}_check any-of ${k}_scan all`,
      `acl ${k}_dest_any any-of ${names('_dest')}`,
      `acl ${k}_dest all-of ${k} ${k}_dest_any`,
      `acl ${k}_tls_any any-of ${names('_tls')}`,
      `acl ${k}_tls all-of ${k} ${k}_tls_any`,
    );
    checks.push(`${k}_check`);
    dests.push(`${k}_dest`);
    tls.push(`${k}_tls`);
  }
  out.push(
    '',
    '# Every consumer the client is (once per connection); whether one of them lists the destination or server name.',
    ...allOf('egress_consumers', checks),
    // Repeated any-of lines are ORed.
    ...valueLines('egress_consumer_destination any-of', dests),
    ...valueLines('egress_consumer_sni any-of', tls),
  );
  return out;
}

/**
 * `acl <name> all-of <acls>`, nested by {@link VALUES_PER_LINE} when there are more: repeated all-of
 * lines would be ORed, and Squid reads a configuration line of at most 8 KiB (its `BUFSIZ`), so one
 * flat line would cap a policy at a few thousand consumers. `<name>_<depth>_<n>` name the inner levels.
 */
export function allOf(name: string, acls: string[]): string[] {
  const out: string[] = [];
  let level = acls;
  for (let depth = 1; level.length > VALUES_PER_LINE; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += VALUES_PER_LINE) {
      const inner = `${name}_${depth}_${next.length + 1}`;
      out.push(`acl ${inner} all-of ${level.slice(i, i + VALUES_PER_LINE).join(' ')}`);
      next.push(inner);
    }
    level = next;
  }
  out.push(`acl ${name} all-of ${level.join(' ')}`);
  return out;
}

/**
 * The longest `acl` line rendered. Squid 5 reads a configuration line into a buffer of 8 KiB (`BUFSIZ`)
 * and stops with "FATAL: Bungled" on a longer one; its parser calls lines over 2 KiB
 * (`CONFIG_LINE_LIMIT`) untested. Values that do not fit go on repeated lines, which Squid appends.
 */
export const MAX_LINE = 2000;

/**
 * `acl <name and type> <values>` lines: at most `perLine` values (a few, for a readable file) and
 * {@link MAX_LINE} characters each (unless one value alone is longer). Only for ACL types whose
 * repeated lines Squid appends (sets of addresses, ports, names, notes; any-of).
 */
export function valueLines(head: string, values: ReadonlyArray<string>, perLine = VALUES_PER_LINE): string[] {
  const out: string[] = [];
  let count = 0;
  for (const v of values) {
    const last = out.length - 1;
    if (last >= 0 && count < perLine && out[last].length + 1 + v.length <= MAX_LINE) {
      out[last] += ` ${v}`;
      count++;
    } else {
      out.push(`acl ${head} ${v}`);
      count = 1;
    }
  }
  return out;
}

/**
 * The `http_access` line that only annotates (it ends in `!all`, so it never matches): once per
 * client connection, mark each consumer the client is and name it for the log.
 */
function consumerHttpAccess(consumers: ReadonlyArray<ChainConsumer>): string[] {
  if (consumers.length === 0) return [];
  return [
    '# Consumers: mark which consumers the client is, once per connection (annotates only).',
    'http_access deny !egress_identified egress_consumers egress_identify !all',
  ];
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

/**
 * The definition of each ACL a rule's condition may name, by ACL name; written when a rule present
 * in the policy first names it (the source rule only with sourceCidrs, the provider-VPC rule only
 * with its CIDRs).
 */
function conditionDefinitions(p: ChainPolicy, files: ChainFiles): Record<string, () => string[]> {
  // Sets of addresses and ports can be long: a line each of at most MAX_LINE characters.
  const set = (head: string, values: ReadonlyArray<string>) => valueLines(head, values, Infinity);
  return {
    egress_sources: () => set('egress_sources src', p.sources!.toCidrs()),
    egress_tls_ports: () => set('egress_tls_ports port', p.ports.map(String)),
    egress_plain_ports: () => ['acl egress_plain_ports port 80'],
    // The same rule as isIpLiteral: IPv6 (contains ':' or starts with '['), or a last label that is a
    // number (decimal or 0x-hex).
    egress_ip_literal: () => ['acl egress_ip_literal dstdom_regex -n -i : ^\\[ (^|\\.)([0-9]+|0x[0-9a-f]*)\\.?$'],
    // Matches hosts Squid parsed as an address, without any DNS lookup.
    egress_numeric_host: () => ['acl egress_numeric_host dst -n ::/1 8000::/1'],
    egress_subdomain_only_names: () => [`acl egress_subdomain_only_names dstdomain -n "${files.subdomainOnlyNames}"`],
    egress_allowed_domains: () => [`acl egress_allowed_domains dstdomain -n "${files.allowedDomains}"`],
    egress_to_localhost: () => set('egress_to_localhost dst', p.localhost.toCidrs()),
    egress_to_link_local: () => set('egress_to_link_local dst', p.linkLocal.toCidrs()),
    egress_to_private: () => set('egress_to_private dst', p.deniedPrivate.toCidrs()),
    egress_to_provider_vpc: () => set('egress_to_provider_vpc dst', files.providerVpcCidrs!),
    egress_subdomain_only_sni: () => [`acl egress_subdomain_only_sni ssl::server_name "${files.subdomainOnlyNames}"`],
    egress_allowed_sni: () => [`acl egress_allowed_sni ssl::server_name "${files.allowedDomains}"`],
  };
}

/** ACLs a rule may name that are defined elsewhere: Squid's own, the identity helper's, the consumers' marks. */
const DEFINED_ELSEWHERE = new Set(['all', 'egress_endpoint', 'egress_consumer_destination', 'egress_consumer_sni']);

/**
 * The condition of a rule as Squid text; defines (appends to `acls`) each ACL it names the first
 * time one is used (`all` and the identity helper's `egress_endpoint` are defined elsewhere).
 */
function conditionAcls(acls: string[], defs: Record<string, () => string[]>): (names: string[]) => string {
  const defined = new Set<string>();
  return (names) => {
    for (const a of names) {
      const name = a.startsWith('!') ? a.slice(1) : a;
      if (DEFINED_ELSEWHERE.has(name) || defined.has(name)) continue;
      defined.add(name);
      acls.push(...defs[name]());
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
