/**
 * The decision chain is the only place a rule is written: these tests walk the table and check
 * that the rendered Squid configuration holds every rule, in the table's order, in the directive
 * its step belongs to, and that audit mode turns exactly the policy rules into "mark and go on".
 */
import { EgressMode, EgressPolicy, EgressPolicyProps, EgressRule, SquidConfig } from '../src';
import { CidrSet } from '../src/private/cidr';
import { ChainStep, chainRules, inScope } from '../src/private/decision-chain';
import { MAX_LINE, renderChain, ruleAcl, valueLines } from '../src/private/squid-rules';

/** A policy with every optional rule present. */
const FULL: EgressPolicyProps = {
  allowedDomains: ['example.com', '*.star.test'],
  sourceCidrs: ['10.0.0.0/8'],
  allowedEndpointIds: ['vpce-0123456789abcdef0'],
};

function squidConf(props: EgressPolicyProps, providerVpcCidrs?: string[]): string[] {
  return SquidConfig.render(new EgressPolicy(props), {
    proxyProtocolSources: ['10.0.0.0/24'],
    providerVpcCidrs,
  })
    .files[0].content.split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function chainLines(props: EgressPolicyProps, providerVpcCidrs?: string[]) {
  const p = new EgressPolicy(props);
  return renderChain(p._chainPolicy(providerVpcCidrs ? CidrSet.of(providerVpcCidrs) : undefined), {
    allowedDomains: '/d',
    subdomainOnlyNames: '/s',
    providerVpcCidrs,
    identity: true,
  });
}

const DIRECTIVE: Record<ChainStep, string> = {
  [ChainStep.REQUEST]: 'http_access ',
  [ChainStep.TLS_SNI]: 'ssl_bump ',
  [ChainStep.TLS_START]: 'on_unsupported_protocol ',
};

describe.each([EgressMode.ENFORCE, EgressMode.AUDIT])('the rendered configuration follows the chain (%s)', (mode) => {
  const props = { ...FULL, mode };
  const conf = () => squidConf(props, ['52.0.0.0/16']);

  test('every rule of the table is rendered, once per kind of request it applies to, in its directive', () => {
    const p = new EgressPolicy(props);
    const { byRule } = chainLines(props, ['52.0.0.0/16']);
    // Every rule is present except the plain-HTTP port rule, which replaces plain-http-off when plain
    // HTTP is on, and (in enforce mode) invalid-ip-literal, whose hosts the ip-literal rule already denies.
    const absent = mode === EgressMode.AUDIT ? ['plain-http-port'] : ['plain-http-port', 'invalid-ip-literal'];
    expect(byRule.map((r) => r.id)).toEqual(
      chainRules()
        .filter((r) => !absent.includes(r.id))
        .map((r) => r.id),
    );
    for (const { id, lines } of byRule) {
      const rule = chainRules().find((r) => r.id === id)!;
      expect(lines).toHaveLength([true, false].filter((connect) => inScope(rule, connect)).length);
      for (const line of lines) {
        expect(line.startsWith(DIRECTIVE[rule.step])).toBe(true);
        expect(line).toContain(` ${rule.squid(p._chainPolicy()).acls.join(' ')} `);
      }
    }
  });

  test('within each directive, the rules appear in squid.conf in the order of the table, each naming its rule', () => {
    const p = new EgressPolicy(props);
    const vpc = SquidConfig.render(p, { proxyProtocolSources: ['10.0.0.0/24'], providerVpcCidrs: ['52.0.0.0/16'] });
    const lines = vpc.files[0].content.split('\n');
    // Squid reads each directive's lines in order; different directives are independent.
    const lastOf: Record<string, number> = {};
    for (const rule of chainRules()) {
      if (!rule.present(p._chainPolicy())) continue; // e.g. plain-http-port, only with allowPlainHttp (tested below)
      for (const connect of [true, false]) {
        if (!inScope(rule, connect)) continue;
        const cond = rule.squid(p._chainPolicy()).acls.join(' ');
        const last = lastOf[rule.step] ?? -1;
        const at = lines.findIndex(
          (l, i) =>
            i > last &&
            l.startsWith(DIRECTIVE[rule.step]) &&
            `${l} `.includes(` ${cond} `) &&
            `${l} `.includes(` ${ruleAcl(rule.rule, connect)} `),
        );
        expect({ rule: rule.id, connect, found: at > last }).toEqual({ rule: rule.id, connect, found: true });
        lastOf[rule.step] = at;
      }
    }
  });

  test('http_access starts with the manager denial and the tunnel follow-up, and ends with the allowlist and deny all', () => {
    const access = conf().filter((l) => l.startsWith('http_access '));
    expect(access[0]).toBe('http_access deny manager');
    expect(access[1]).toBe('http_access allow egress_tunnel egress_endpoint');
    expect(access.slice(-3)).toEqual([
      `http_access allow CONNECT egress_allowed_domains ${ruleAcl(EgressRule.ALLOWLISTED, true)}`,
      `http_access allow !CONNECT egress_allowed_domains ${ruleAcl(EgressRule.ALLOWLISTED, false)}`,
      'http_access deny all',
    ]);
  });

  test('ssl_bump terminates refused CONNECTs, peeks at step 1, and splices last', () => {
    const bump = conf().filter((l) => l.startsWith('ssl_bump '));
    expect(bump.slice(0, 2)).toEqual(['ssl_bump terminate egress_refused', 'ssl_bump peek egress_step1']);
    expect(bump[bump.length - 1]).toBe('ssl_bump splice all egress_handoff egress_client_tunnel');
  });

  test('every ACL a rule uses is defined before the first line that uses it', () => {
    const defined = new Set(['all', 'manager']);
    for (const line of conf()) {
      const m = /^acl (\S+) /.exec(line);
      if (m) {
        defined.add(m[1]);
        continue;
      }
      if (
        !/^(http_access|ssl_bump|on_unsupported_protocol|url_rewrite_access|http_reply_access|access_log) /.test(line)
      ) {
        continue;
      }
      const used = line
        .split(' ')
        .slice(line.startsWith('access_log') ? 3 : 2)
        .map((a) => a.replace(/^!/, ''));
      for (const a of used) expect({ line, acl: a, defined: defined.has(a) }).toEqual({ line, acl: a, defined: true });
    }
  });
});

describe('guardrails and policy rules', () => {
  test('in enforce mode every rule denies: CONNECTs are marked refused, plain HTTP is denied', () => {
    const { byRule } = chainLines(FULL);
    for (const { id, lines } of byRule) {
      const rule = chainRules().find((r) => r.id === id)!;
      for (const line of lines) {
        if (rule.step === ChainStep.TLS_SNI) expect(line).toMatch(/^ssl_bump terminate /);
        else if (rule.step === ChainStep.TLS_START) expect(line).toMatch(/^on_unsupported_protocol respond /);
        else expect(line).toMatch(/^http_access (allow CONNECT .* egress_refuse|deny !CONNECT .* egress_rule_\w+)$/);
      }
    }
  });

  test('in audit mode guardrails still deny and policy rules only mark the request and go on', () => {
    const { byRule } = chainLines({ ...FULL, mode: EgressMode.AUDIT });
    for (const { id, lines } of byRule) {
      const rule = chainRules().find((r) => r.id === id)!;
      for (const line of lines) {
        if (rule.guardrail) {
          expect(line).toMatch(/^http_access (allow CONNECT .* egress_refuse|deny !CONNECT .*)$/);
          expect(line).not.toContain('!all');
        } else if (rule.step === ChainStep.REQUEST) {
          expect(line).toMatch(
            /^http_access deny (CONNECT|!CONNECT) .* !egress_pending \S+ egress_(client_)?pend !all$/,
          );
        } else {
          expect(line).toMatch(/ egress_client_pend egress_client_audit egress_handoff egress_client_tunnel$/);
          expect(line).toMatch(/^(ssl_bump splice|on_unsupported_protocol tunnel) /);
        }
      }
    }
  });

  test('the guardrails are exactly the address and malformed-literal rules', () => {
    expect(
      chainRules()
        .filter((r) => r.guardrail)
        .map((r) => r.rule),
    ).toEqual([
      EgressRule.INVALID_IP_LITERAL,
      EgressRule.TO_LOCALHOST,
      EgressRule.TO_LINK_LOCAL,
      EgressRule.TO_PRIVATE,
      EgressRule.TO_PROVIDER_VPC,
    ]);
  });

  test('rule ids are unique', () => {
    expect(new Set(chainRules().map((r) => r.id)).size).toBe(chainRules().length);
  });
});

describe('rules present only when the policy has them', () => {
  const ids = (props: EgressPolicyProps, vpc?: string[]) => chainLines(props, vpc).byRule.map((r) => r.id);

  test('no source or endpoint rule without sourceCidrs and allowedEndpointIds', () => {
    expect(ids({ allowedDomains: ['example.com'] })).not.toContain('source-not-listed');
    expect(ids({ allowedDomains: ['example.com'] })).not.toContain('endpoint-not-listed');
    expect(ids(FULL)).toEqual(expect.arrayContaining(['source-not-listed', 'endpoint-not-listed']));
  });

  test('plain HTTP: one refusal rule when off, a port rule when on', () => {
    expect(ids({ allowedDomains: ['example.com'] })).toContain('plain-http-off');
    expect(ids({ allowedDomains: ['example.com'] })).not.toContain('plain-http-port');
    expect(ids({ allowedDomains: ['example.com'], allowPlainHttp: true })).toContain('plain-http-port');
    expect(ids({ allowedDomains: ['example.com'], allowPlainHttp: true })).not.toContain('plain-http-off');
  });

  test('subdomain-only rules only with a *.name entry (not with .name or exact entries)', () => {
    expect(ids({ allowedDomains: ['.example.com', 'example.org'] })).not.toContain('destination-subdomain-only');
    expect(ids({ allowedDomains: ['.example.com', 'example.org'] })).not.toContain('sni-subdomain-only');
    expect(ids({ allowedDomains: ['example.com'] })).not.toContain('destination-subdomain-only');
    expect(ids({ allowedDomains: ['example.com'] })).not.toContain('sni-subdomain-only');
    expect(ids({ allowedDomains: ['*.example.com'] })).toEqual(
      expect.arrayContaining(['destination-subdomain-only', 'sni-subdomain-only']),
    );
  });

  test('the provider VPC rule only with the render option; evaluate() cannot apply it', () => {
    const p = new EgressPolicy({ allowedDomains: ['example.com'] });
    const without = SquidConfig.render(p).files[0].content;
    const withVpc = SquidConfig.render(p, { providerVpcCidrs: ['52.0.0.0/16', '2600:1f18::/56'] }).files[0].content;
    expect(without).not.toContain('egress_to_provider_vpc');
    expect(withVpc).toContain('acl egress_to_provider_vpc dst 52.0.0.0/16 2600:1f18::/56\n');
    expect(withVpc).toContain(
      `http_access allow CONNECT egress_to_provider_vpc ${ruleAcl(EgressRule.TO_PROVIDER_VPC, true)} egress_refuse\n`,
    );
    expect(chainRules().find((r) => r.id === 'to-provider-vpc')!.denies).toBeUndefined();
    expect(p.evaluate({ host: 'example.com', resolvedAddresses: ['52.0.0.1'] }).allowed).toBe(true);
  });

  test('a VPC CIDR given as a token is written as it is', () => {
    const conf = SquidConfig.render(new EgressPolicy({ allowedDomains: ['example.com'] }), {
      providerVpcCidrs: ['${Token[TOKEN.1]}', '10.1.0.0/16'],
    }).files[0].content;
    expect(conf).toContain('acl egress_to_provider_vpc dst 10.1.0.0/16 ${Token[TOKEN.1]}\n');
  });

  test('bad providerVpcCidrs are rejected', () => {
    const p = new EgressPolicy({ allowedDomains: ['example.com'] });
    expect(() => SquidConfig.render(p, { providerVpcCidrs: [] })).toThrow('Invalid providerVpcCidrs []');
    expect(() => SquidConfig.render(p, { providerVpcCidrs: ['10.0.0.1/16'] })).toThrow(
      "Invalid providerVpcCidrs entry '10.0.0.1/16': it has host bits set",
    );
  });

  test('no private rule when allowedPrivateCidrs opens all private space', () => {
    const all = new EgressPolicy({ allowedDomains: ['example.com'] }).deniedPrivateCidrs;
    expect(ids({ allowedDomains: ['example.com'], allowedPrivateCidrs: all })).not.toContain('to-private');
    expect(ids({ allowedDomains: ['example.com'] })).toContain('to-private');
  });
});

describe('the Squid ACLs hold the same address sets evaluate() uses', () => {
  const acl = (name: string) => {
    const conf = SquidConfig.render(
      new EgressPolicy({
        allowedDomains: ['example.com'],
        allowedPrivateCidrs: ['10.1.0.0/16'],
        mode: EgressMode.AUDIT,
      }),
    ).files[0].content;
    return new RegExp(`^acl ${name} (.*)$`, 'm').exec(conf)![1];
  };

  test('localhost, link-local and the private space minus the opted-in range', () => {
    expect(acl('egress_to_localhost')).toBe(
      'dst ::/104 ::7f00:0/104 0.0.0.0/8 127.0.0.0/8 64:ff9b::/104 64:ff9b::7f00:0/104',
    );
    expect(acl('egress_to_link_local')).toBe(
      'dst ::a9fe:0/112 169.254.0.0/16 64:ff9b::a9fe:0/112 fd00:ec2::23/128 fd00:ec2::254/128 fe80::/10',
    );
    const priv = acl('egress_to_private').split(' ');
    expect(priv).toContain('10.0.0.0/16');
    expect(priv).toContain('10.2.0.0/15');
    expect(priv).toContain('10.128.0.0/9');
    expect(priv).not.toContain('10.0.0.0/8');
    expect(priv.some((c) => c.startsWith('10.1.'))).toBe(false);
  });

  test('a host shaped like an IP literal is numeric only when Squid parsed it, without DNS', () => {
    expect(acl('egress_numeric_host')).toBe('dst -n ::/1 8000::/1');
    expect(acl('egress_ip_literal')).toBe('dstdom_regex -n -i : ^\\[ (^|\\.)([0-9]+|0x[0-9a-f]*)\\.?$');
  });
});

describe('the whole rendered chain, line by line (a policy with every rule)', () => {
  // The specification of the Squid side: any change to a rule, its order, its ACLs or its
  // annotations shows here. Comment lines name each rule and say what it checks.
  const EXPECTED: Record<EgressMode, string[]> = {
    [EgressMode.ENFORCE]: [
      'http_access deny manager',
      'http_access allow egress_tunnel egress_endpoint',
      'http_access deny egress_endpoint !all',
      '# source-not-allowed (source-not-listed; policy): checks that the client address from PROXY protocol v2 is in sourceCidrs',
      'http_access allow CONNECT !egress_sources egress_client_rule_source_not_allowed egress_refuse',
      'http_access deny !CONNECT !egress_sources egress_rule_source_not_allowed',
      '# endpoint-not-allowed (endpoint-not-listed; policy): checks that the VPC endpoint ID from PROXY protocol v2 is in allowedEndpointIds',
      'http_access allow CONNECT !egress_endpoint egress_client_rule_endpoint_not_allowed egress_refuse',
      'http_access deny !CONNECT !egress_endpoint egress_rule_endpoint_not_allowed',
      '# port-not-allowed (connect-port; policy): checks that a CONNECT goes to one of the policy ports',
      'http_access allow CONNECT !egress_tls_ports egress_client_rule_port_not_allowed egress_refuse',
      '# plain-http-not-allowed (plain-http-off; policy): checks that plain HTTP (any method but CONNECT) is refused while allowPlainHttp is off',
      'http_access deny !CONNECT all egress_rule_plain_http_not_allowed',
      '# ip-literal (ip-literal; policy): checks that the destination is a host name, not an IP literal in any notation',
      'http_access allow CONNECT egress_ip_literal egress_client_rule_ip_literal egress_refuse',
      'http_access deny !CONNECT egress_ip_literal egress_rule_ip_literal',
      '# destination-not-allowed (destination-subdomain-only; policy): checks that the destination is not the apex of a *.name entry (Squid’s .name would match it)',
      'http_access allow CONNECT egress_subdomain_only_names egress_client_rule_destination_not_allowed egress_refuse',
      'http_access deny !CONNECT egress_subdomain_only_names egress_rule_destination_not_allowed',
      "# destination-not-allowed (destination-not-listed; policy): checks that the destination host name is on the allowlist, or on the list of one of the client's consumers",
      'http_access allow CONNECT !egress_allowed_domains egress_client_rule_destination_not_allowed egress_refuse',
      'http_access deny !CONNECT !egress_allowed_domains egress_rule_destination_not_allowed',
      '# to-localhost (to-localhost; guardrail, every mode): checks that no address of the destination is loopback or unspecified',
      'http_access allow CONNECT egress_to_localhost egress_client_rule_to_localhost egress_refuse',
      'http_access deny !CONNECT egress_to_localhost egress_rule_to_localhost',
      '# to-link-local (to-link-local; guardrail, every mode): checks that no address of the destination is link-local (instance metadata, ECS and EKS credentials)',
      'http_access allow CONNECT egress_to_link_local egress_client_rule_to_link_local egress_refuse',
      'http_access deny !CONNECT egress_to_link_local egress_rule_to_link_local',
      '# to-private (to-private; guardrail, every mode): checks that no address of the destination is private or special-purpose space outside allowedPrivateCidrs',
      'http_access allow CONNECT egress_to_private egress_client_rule_to_private egress_refuse',
      'http_access deny !CONNECT egress_to_private egress_rule_to_private',
      "# to-provider-vpc (to-provider-vpc; guardrail, every mode): checks that no address of the destination is in the provider VPC's CIDR blocks",
      'http_access allow CONNECT egress_to_provider_vpc egress_client_rule_to_provider_vpc egress_refuse',
      'http_access deny !CONNECT egress_to_provider_vpc egress_rule_to_provider_vpc',
      'http_access allow CONNECT egress_allowed_domains egress_client_rule_allowlisted',
      'http_access allow !CONNECT egress_allowed_domains egress_rule_allowlisted',
      'http_access deny all',
      'ssl_bump terminate egress_refused',
      'ssl_bump peek egress_step1',
      '# sni-not-allowed (sni-subdomain-only; policy): checks that the TLS server name is not the apex of a *.name entry',
      'ssl_bump terminate egress_subdomain_only_sni egress_client_rule_sni_not_allowed',
      "# sni-not-allowed (sni-not-listed; policy): checks that the TLS server name, when the client sends one, is on the allowlist or the list of one of the client's consumers",
      'ssl_bump terminate !egress_allowed_sni egress_client_rule_sni_not_allowed',
      'ssl_bump splice all egress_handoff egress_client_tunnel',
      '# not-tls (not-tls; policy): checks that the bytes in a CONNECT tunnel start a TLS handshake',
      'on_unsupported_protocol respond all egress_client_rule_not_tls',
    ],
    [EgressMode.AUDIT]: [
      'http_access deny manager',
      'http_access allow egress_tunnel egress_endpoint',
      'http_access deny egress_endpoint !all',
      '# source-not-allowed (source-not-listed; policy, audit: mark and go on): checks that the client address from PROXY protocol v2 is in sourceCidrs',
      'http_access deny CONNECT !egress_sources !egress_pending egress_client_rule_source_not_allowed egress_client_pend !all',
      'http_access deny !CONNECT !egress_sources !egress_pending egress_rule_source_not_allowed egress_pend !all',
      '# endpoint-not-allowed (endpoint-not-listed; policy, audit: mark and go on): checks that the VPC endpoint ID from PROXY protocol v2 is in allowedEndpointIds',
      'http_access deny CONNECT !egress_endpoint !egress_pending egress_client_rule_endpoint_not_allowed egress_client_pend !all',
      'http_access deny !CONNECT !egress_endpoint !egress_pending egress_rule_endpoint_not_allowed egress_pend !all',
      '# port-not-allowed (connect-port; policy, audit: mark and go on): checks that a CONNECT goes to one of the policy ports',
      'http_access deny CONNECT !egress_tls_ports !egress_pending egress_client_rule_port_not_allowed egress_client_pend !all',
      '# plain-http-not-allowed (plain-http-off; policy, audit: mark and go on): checks that plain HTTP (any method but CONNECT) is refused while allowPlainHttp is off',
      'http_access deny !CONNECT all !egress_pending egress_rule_plain_http_not_allowed egress_pend !all',
      '# ip-literal (ip-literal; policy, audit: mark and go on): checks that the destination is a host name, not an IP literal in any notation',
      'http_access deny CONNECT egress_ip_literal !egress_pending egress_client_rule_ip_literal egress_client_pend !all',
      'http_access deny !CONNECT egress_ip_literal !egress_pending egress_rule_ip_literal egress_pend !all',
      '# invalid-ip-literal (invalid-ip-literal; guardrail, every mode): checks that a destination shaped like an IP literal is an address Squid parses (no DNS name ends in a number)',
      'http_access allow CONNECT egress_ip_literal !egress_numeric_host egress_client_rule_invalid_ip_literal egress_refuse',
      'http_access deny !CONNECT egress_ip_literal !egress_numeric_host egress_rule_invalid_ip_literal',
      '# destination-not-allowed (destination-subdomain-only; policy, audit: mark and go on): checks that the destination is not the apex of a *.name entry (Squid’s .name would match it)',
      'http_access deny CONNECT egress_subdomain_only_names !egress_pending egress_client_rule_destination_not_allowed egress_client_pend !all',
      'http_access deny !CONNECT egress_subdomain_only_names !egress_pending egress_rule_destination_not_allowed egress_pend !all',
      "# destination-not-allowed (destination-not-listed; policy, audit: mark and go on): checks that the destination host name is on the allowlist, or on the list of one of the client's consumers",
      'http_access deny CONNECT !egress_allowed_domains !egress_pending egress_client_rule_destination_not_allowed egress_client_pend !all',
      'http_access deny !CONNECT !egress_allowed_domains !egress_pending egress_rule_destination_not_allowed egress_pend !all',
      '# to-localhost (to-localhost; guardrail, every mode): checks that no address of the destination is loopback or unspecified',
      'http_access allow CONNECT egress_to_localhost egress_client_rule_to_localhost egress_refuse',
      'http_access deny !CONNECT egress_to_localhost egress_rule_to_localhost',
      '# to-link-local (to-link-local; guardrail, every mode): checks that no address of the destination is link-local (instance metadata, ECS and EKS credentials)',
      'http_access allow CONNECT egress_to_link_local egress_client_rule_to_link_local egress_refuse',
      'http_access deny !CONNECT egress_to_link_local egress_rule_to_link_local',
      '# to-private (to-private; guardrail, every mode): checks that no address of the destination is private or special-purpose space outside allowedPrivateCidrs',
      'http_access allow CONNECT egress_to_private egress_client_rule_to_private egress_refuse',
      'http_access deny !CONNECT egress_to_private egress_rule_to_private',
      "# to-provider-vpc (to-provider-vpc; guardrail, every mode): checks that no address of the destination is in the provider VPC's CIDR blocks",
      'http_access allow CONNECT egress_to_provider_vpc egress_client_rule_to_provider_vpc egress_refuse',
      'http_access deny !CONNECT egress_to_provider_vpc egress_rule_to_provider_vpc',
      'http_access allow CONNECT egress_pending egress_client_audit',
      'http_access allow !CONNECT egress_pending egress_audit',
      'http_access allow CONNECT egress_allowed_domains egress_client_rule_allowlisted',
      'http_access allow !CONNECT egress_allowed_domains egress_rule_allowlisted',
      'http_access deny all',
      'ssl_bump terminate egress_refused',
      'ssl_bump peek egress_step1',
      'ssl_bump splice egress_pending egress_handoff egress_client_tunnel',
      '# sni-not-allowed (sni-subdomain-only; policy, audit: mark and go on): checks that the TLS server name is not the apex of a *.name entry',
      'ssl_bump splice egress_subdomain_only_sni egress_client_rule_sni_not_allowed egress_client_pend egress_client_audit egress_handoff egress_client_tunnel',
      "# sni-not-allowed (sni-not-listed; policy, audit: mark and go on): checks that the TLS server name, when the client sends one, is on the allowlist or the list of one of the client's consumers",
      'ssl_bump splice !egress_allowed_sni egress_client_rule_sni_not_allowed egress_client_pend egress_client_audit egress_handoff egress_client_tunnel',
      'ssl_bump splice all egress_handoff egress_client_tunnel',
      'on_unsupported_protocol tunnel egress_pending egress_handoff egress_client_tunnel',
      '# not-tls (not-tls; policy, audit: mark and go on): checks that the bytes in a CONNECT tunnel start a TLS handshake',
      'on_unsupported_protocol tunnel all egress_client_rule_not_tls egress_client_pend egress_client_audit egress_handoff egress_client_tunnel',
    ],
  };

  test.each([EgressMode.ENFORCE, EgressMode.AUDIT])('%s mode', (mode) => {
    const conf = SquidConfig.render(new EgressPolicy({ ...FULL, mode }), {
      proxyProtocolSources: ['10.0.0.0/24'],
      providerVpcCidrs: ['52.0.0.0/16'],
    }).files[0].content;
    const lines = conf
      .split('\n')
      .filter((l) => /^(http_access|ssl_bump|on_unsupported_protocol|# [a-z-]+ \()/.test(l));
    expect(lines).toEqual(EXPECTED[mode]);
  });
});

describe('a plain-HTTP policy: the port rule, line by line', () => {
  // allowPlainHttp swaps plain-http-off for plain-http-port; the policy with every rule above has it off.
  const EXPECTED: Record<EgressMode, string[]> = {
    [EgressMode.ENFORCE]: [
      '# port-not-allowed (plain-http-port; policy): checks that plain HTTP goes to port 80',
      'http_access deny !CONNECT !egress_plain_ports egress_rule_port_not_allowed',
    ],
    [EgressMode.AUDIT]: [
      '# port-not-allowed (plain-http-port; policy, audit: mark and go on): checks that plain HTTP goes to port 80',
      'http_access deny !CONNECT !egress_plain_ports !egress_pending egress_rule_port_not_allowed egress_pend !all',
    ],
  };

  test.each([EgressMode.ENFORCE, EgressMode.AUDIT])(
    '%s mode: only plain HTTP (not CONNECT) is held to port 80',
    (mode) => {
      const conf = SquidConfig.render(
        new EgressPolicy({ allowedDomains: ['example.com'], allowPlainHttp: true, mode }),
        {
          proxyProtocolSources: ['10.0.0.0/24'],
        },
      ).files[0].content.split('\n');
      expect(conf.filter((l) => /plain-http-port|^http_access .*egress_plain_ports/.test(l))).toEqual(EXPECTED[mode]);
      expect(conf.filter((l) => /plain-http-off|plain_http_not_allowed egress/.test(l))).toEqual([]);
    },
  );
});

describe('long sets stay within the line length Squid reads', () => {
  // Squid 5.7 stops with "FATAL: Bungled <file> line N" on a configuration line over 8 KiB (tried:
  // 700 CIDRs on one src line); test/squid/consumers.test.ts runs such a policy on real Squid.
  test('values go on repeated lines of at most MAX_LINE characters and perLine values, in order', () => {
    const values = Array.from({ length: 300 }, (_, i) => `10.${i}.0.0/16`.padEnd(20, '0'));
    const lines = valueLines('big src', values, Infinity);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) {
      expect(l.length).toBeLessThanOrEqual(MAX_LINE);
      expect(l.startsWith('acl big src ')).toBe(true);
    }
    // Each line but the last is full: one more value would have passed the limit.
    for (const l of lines.slice(0, -1)) expect(l.length + 21).toBeGreaterThan(MAX_LINE);
    expect(lines.flatMap((l) => l.split(' ').slice(3))).toEqual(values);
    expect(valueLines('few src', ['a', 'b', 'c', 'd', 'e'], 2)).toEqual([
      'acl few src a b',
      'acl few src c d',
      'acl few src e',
    ]);
    expect(valueLines('none src', [], 2)).toEqual([]);
    // A line of exactly MAX_LINE characters is kept whole.
    const fill = 'y'.repeat(MAX_LINE - 'acl e src a '.length);
    expect(valueLines('e src', ['a', fill, 'b'], Infinity)).toEqual([`acl e src a ${fill}`, 'acl e src b']);
    // A value longer than the limit alone still gets a line of its own.
    const huge = 'x'.repeat(MAX_LINE + 1);
    expect(valueLines('h note k', [huge, 'b'], Infinity)).toEqual([`acl h note k ${huge}`, 'acl h note k b']);
    expect(valueLines('h note k', ['a', huge, 'b'], Infinity)).toEqual([
      'acl h note k a',
      `acl h note k ${huge}`,
      'acl h note k b',
    ]);
  });

  test('a policy with 700 sources, 300 opened private addresses and 400 PROXY protocol peers renders no line over MAX_LINE', () => {
    const sourceCidrs = Array.from({ length: 700 }, (_, i) => `10.${i % 250}.${Math.floor(i / 250)}.0/24`);
    const allowedPrivateCidrs = Array.from(
      { length: 300 },
      (_, i) => `172.16.${i % 250}.${1 + Math.floor(i / 250)}/32`,
    );
    const peers = Array.from({ length: 400 }, (_, i) => `10.255.${Math.floor(i / 250)}.${i % 250}/32`);
    const policy = new EgressPolicy({
      allowedDomains: ['example.com'],
      sourceCidrs,
      allowedPrivateCidrs,
      ports: Array.from({ length: 20 }, (_, i) => 8000 + i),
    });
    const conf = SquidConfig.render(policy, { proxyProtocolSources: peers, providerVpcCidrs: sourceCidrs });
    const lines = conf.files.flatMap((f) => f.content.split('\n'));
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(MAX_LINE);
    const values = (acl: string) =>
      lines.filter((l) => l.startsWith(`acl ${acl} `)).flatMap((l) => l.split(' ').slice(3));
    expect(values('egress_sources')).toEqual(CidrSet.of(sourceCidrs).toCidrs());
    expect(values('egress_to_private')).toEqual(policy.deniedPrivateCidrs);
    expect(values('egress_to_provider_vpc')).toEqual(sourceCidrs);
    expect(values('egress_ppv2_peers')).toEqual(peers);
    expect(lines.filter((l) => l.startsWith('acl egress_to_private ')).length).toBeGreaterThan(1);
    expect(lines.find((l) => l.startsWith('# mode: '))).toContain(
      'ports: 8000,8001,8002,8003,8004,8005,8006,8007 and 12 more;',
    );
  });
});

describe("the renderer's own output, with nothing added or left out", () => {
  /** A policy with every rule but invalid-ip-literal (audit only), two sources and two ports. */
  const policy = new EgressPolicy({
    ...FULL,
    sourceCidrs: ['10.0.0.0/8', '192.0.2.0/24'],
    ports: [443, 8443],
    allowPlainHttp: true,
  });
  const render = (identity: boolean) =>
    renderChain(policy._chainPolicy(CidrSet.of(['52.0.0.0/16'])), {
      allowedDomains: '/d',
      subdomainOnlyNames: '/s',
      providerVpcCidrs: ['52.0.0.0/16', '52.1.0.0/16'],
      identity,
    });
  const isAnnotation = (acl: string) => /^acl \S+ (annotate_\S+|note|method|at_step) /.test(acl);

  test('every condition ACL is defined once, in the order of first use, each set written space-separated', () => {
    const { acls } = render(true);
    expect(acls.filter((a) => !isAnnotation(a))).toEqual([
      // The allowlist first: the final allow lines use it whatever rules the policy has.
      'acl egress_allowed_domains dstdomain -n "/d"',
      'acl egress_sources src 10.0.0.0/8 192.0.2.0/24',
      'acl egress_tls_ports port 443 8443',
      'acl egress_plain_ports port 80',
      'acl egress_ip_literal dstdom_regex -n -i : ^\\[ (^|\\.)([0-9]+|0x[0-9a-f]*)\\.?$',
      'acl egress_subdomain_only_names dstdomain -n "/s"',
      `acl egress_to_localhost dst ${policy._chainPolicy().localhost.toCidrs().join(' ')}`,
      `acl egress_to_link_local dst ${policy._chainPolicy().linkLocal.toCidrs().join(' ')}`,
      `acl egress_to_private dst ${policy.deniedPrivateCidrs.join(' ')}`,
      'acl egress_to_provider_vpc dst 52.0.0.0/16 52.1.0.0/16',
      'acl egress_subdomain_only_sni ssl::server_name "/s"',
      'acl egress_allowed_sni ssl::server_name "/d"',
    ]);
    // The annotations: one transaction and one client ACL per rule, and the chain's marks.
    expect(acls.filter(isAnnotation)).toHaveLength(2 * Object.values(EgressRule).length + 13);
  });

  test('the directive lines are exactly the chain: nothing before, between or after the rules', () => {
    const out = render(true);
    const byDirective = [...out.httpAccess, ...out.sslBump, ...out.onUnsupportedProtocol];
    const fromRules = out.byRule.flatMap((r) => r.lines);
    const fixed = byDirective.filter((l) => !l.startsWith('#') && !fromRules.includes(l));
    expect(fixed).toEqual([
      'http_access deny manager',
      'http_access allow egress_tunnel egress_endpoint',
      'http_access deny egress_endpoint !all',
      'http_access allow CONNECT egress_allowed_domains egress_client_rule_allowlisted',
      'http_access allow !CONNECT egress_allowed_domains egress_rule_allowlisted',
      'http_access deny all',
      'ssl_bump terminate egress_refused',
      'ssl_bump peek egress_step1',
      'ssl_bump splice all egress_handoff egress_client_tunnel',
    ]);
    expect(out.onUnsupportedProtocol[0]).toMatch(/^# not-tls /);
  });

  test('without the endpoint-identity helper, http_access neither asks it nor names it', () => {
    const out = renderChain(new EgressPolicy({ allowedDomains: ['example.com'] })._chainPolicy(), {
      allowedDomains: '/d',
      identity: false,
    });
    expect(out.httpAccess.slice(0, 3)).toEqual([
      'http_access deny manager',
      'http_access allow egress_tunnel',
      expect.stringMatching(/^# /),
    ]);
    expect(out.httpAccess.join('\n')).not.toContain('egress_endpoint');
  });
});
