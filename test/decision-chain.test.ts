/**
 * The decision chain is the only place a rule is written: these tests walk the table and check
 * that the rendered Squid configuration holds every rule, in the table's order, in the directive
 * its step belongs to, and that audit mode turns exactly the policy rules into "mark and go on".
 */
import { EgressMode, EgressPolicy, EgressPolicyProps, EgressRule, SquidConfig } from '../src';
import { CidrSet } from '../src/private/cidr';
import { ChainStep, chainRules, inScope } from '../src/private/decision-chain';
import { renderChain, ruleAcl } from '../src/private/squid-rules';

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

  test('subdomain-only rules only with a *.name entry', () => {
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
