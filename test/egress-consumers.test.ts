/**
 * Consumers: destinations of their own for the clients a consumer names (by VPC endpoint ID,
 * source CIDR, or both), on top of the shared list. What evaluate() decides, how bad input fails,
 * and what the chain renders for Squid. Real Squid agrees with evaluate() on the same policy in
 * test/squid/policy-agreement.test.ts (configs `consumers` and `consumers-only`).
 */
import {
  EgressConsumer,
  EgressMode,
  EgressPolicy,
  EgressPolicyProps,
  EgressRequest,
  EgressRule,
  SquidConfig,
} from '../src';
import { allOf, renderChain } from '../src/private/squid-rules';

const VPCE_A = 'vpce-0aaaaaaaaaaaaaaa1';
const VPCE_B = 'vpce-0bbbbbbbbbbbbbbb2';
const VPCE_C = 'vpce-0ccccccccccccccc3';
const TEAM_A: EgressConsumer = {
  name: 'team-a',
  endpointIds: [VPCE_A],
  allowedDomains: ['a.example.com', '*.wild-a.example.com'],
};
const TEAM_B: EgressConsumer = {
  name: 'team-b',
  endpointIds: [VPCE_B],
  allowedDomains: ['b.example.com', 'wild-a.example.com'],
};
const VPN: EgressConsumer = { name: 'vpn', sourceCidrs: ['10.70.0.0/16'], allowedDomains: ['vpn.example.com'] };
const PINNED: EgressConsumer = {
  name: 'pinned',
  endpointIds: [VPCE_C],
  sourceCidrs: ['10.80.0.0/16', '2001:db8:80::/48'],
  allowedDomains: ['.c.example.com'],
};

function hub(props: Partial<EgressPolicyProps> = {}): EgressPolicy {
  return new EgressPolicy({
    allowedDomains: ['shared.example.com'],
    consumers: [TEAM_A, TEAM_B, VPN, PINNED],
    ...props,
  });
}

const A = { sourceAddress: '10.50.1.2', endpointId: VPCE_A };
const B = { sourceAddress: '10.60.1.2', endpointId: VPCE_B };

function ask(p: EgressPolicy, host: string, who: Partial<EgressRequest>, extra: Partial<EgressRequest> = {}) {
  return p.evaluate({ host, ...who, ...extra });
}

function errorFor(props: EgressPolicyProps): string {
  try {
    new EgressPolicy(props);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('what each client may reach', () => {
  const p = hub();

  test('a consumer reaches its own destinations and the shared list, and is named in the decision', () => {
    expect(ask(p, 'a.example.com', A)).toEqual({
      allowed: true,
      rule: EgressRule.ALLOWLISTED,
      audited: false,
      consumers: ['team-a'],
    });
    expect(ask(p, 'shared.example.com', A).allowed).toBe(true);
  });

  test("a consumer cannot reach another consumer's destinations", () => {
    expect(ask(p, 'b.example.com', A)).toEqual({
      allowed: false,
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
      audited: false,
      consumers: ['team-a'],
    });
    expect(ask(p, 'a.example.com', B).allowed).toBe(false);
  });

  test("a consumer's *.name entry allows subdomains only; another consumer's exact apex entry is its own", () => {
    expect(ask(p, 'x.wild-a.example.com', A).allowed).toBe(true);
    expect(ask(p, 'wild-a.example.com', A).rule).toBe(EgressRule.DESTINATION_NOT_ALLOWED);
    expect(ask(p, 'wild-a.example.com', B).allowed).toBe(true);
    expect(ask(p, 'x.wild-a.example.com', B).allowed).toBe(false);
  });

  test("a consumer's apex entry opens the apex the shared list's *.name entry excludes, for that consumer only", () => {
    const q = new EgressPolicy({ allowedDomains: ['*.wild-a.example.com'], consumers: [TEAM_B] });
    expect(ask(q, 'wild-a.example.com', B).allowed).toBe(true);
    expect(ask(q, 'wild-a.example.com', A).rule).toBe(EgressRule.DESTINATION_NOT_ALLOWED);
    expect(ask(q, 'wild-a.example.com', B, { sni: 'wild-a.example.com' }).allowed).toBe(true);
    expect(ask(q, 'x.wild-a.example.com', A, { sni: 'wild-a.example.com' }).rule).toBe(EgressRule.SNI_NOT_ALLOWED);
  });

  test('a client that is no consumer gets the shared list only', () => {
    const unknown = { sourceAddress: '10.90.1.2', endpointId: 'vpce-0fffffffffffffff0' };
    expect(ask(p, 'shared.example.com', unknown)).toEqual({
      allowed: true,
      rule: EgressRule.ALLOWLISTED,
      audited: false,
      consumers: [],
    });
    for (const host of ['a.example.com', 'b.example.com', 'vpn.example.com', 'x.c.example.com']) {
      expect(ask(p, host, unknown).allowed).toBe(false);
    }
  });

  test.each([
    ['no endpoint ID', undefined],
    ['an upper-case endpoint ID', VPCE_A.toUpperCase()],
    ['an endpoint ID with a suffix', `${VPCE_A}0`],
    ['an endpoint ID with a prefix', `x${VPCE_A}`],
    ['an endpoint ID with a line break', `${VPCE_A}\nOK`],
  ])('a client with %s is not team-a', (_why, endpointId) => {
    const who = { sourceAddress: '10.50.1.2', endpointId };
    expect(ask(p, 'a.example.com', who)).toEqual({
      allowed: false,
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
      audited: false,
      consumers: [],
    });
    expect(ask(p, 'shared.example.com', who).allowed).toBe(true);
  });

  test('a consumer named by source CIDR is every client in it, with or without an endpoint ID', () => {
    expect(ask(p, 'vpn.example.com', { sourceAddress: '10.70.3.4' }).consumers).toEqual(['vpn']);
    expect(ask(p, 'vpn.example.com', { sourceAddress: '10.70.3.4', endpointId: VPCE_B }).consumers).toEqual([
      'team-b',
      'vpn',
    ]);
    expect(ask(p, 'vpn.example.com', { sourceAddress: '10.71.0.1' }).allowed).toBe(false);
    expect(ask(p, 'vpn.example.com', {}).allowed).toBe(false);
  });

  test('a client that is two consumers gets both lists, and the decision names both in policy order', () => {
    const both = { sourceAddress: '10.70.9.9', endpointId: VPCE_A };
    expect(ask(p, 'a.example.com', both)).toMatchObject({ allowed: true, consumers: ['team-a', 'vpn'] });
    expect(ask(p, 'vpn.example.com', both).allowed).toBe(true);
    expect(ask(p, 'b.example.com', both).allowed).toBe(false);
  });

  test('a consumer with endpoint IDs and source CIDRs needs both to match', () => {
    expect(ask(p, 'x.c.example.com', { sourceAddress: '10.80.1.1', endpointId: VPCE_C }).allowed).toBe(true);
    expect(ask(p, 'x.c.example.com', { sourceAddress: '2001:db8:80::9', endpointId: VPCE_C }).allowed).toBe(true);
    expect(ask(p, 'x.c.example.com', { sourceAddress: '10.81.1.1', endpointId: VPCE_C }).allowed).toBe(false);
    expect(ask(p, 'x.c.example.com', { sourceAddress: '10.80.1.1', endpointId: VPCE_A }).allowed).toBe(false);
    expect(ask(p, 'x.c.example.com', { endpointId: VPCE_C }).allowed).toBe(false);
  });

  test("the TLS server name must be on the shared list or one of the client's consumers' lists", () => {
    expect(ask(p, 'a.example.com', A, { sni: 'a.example.com' }).allowed).toBe(true);
    expect(ask(p, 'shared.example.com', A, { sni: 'A.EXAMPLE.COM' }).allowed).toBe(true);
    expect(ask(p, 'shared.example.com', B, { sni: 'a.example.com' }).rule).toBe(EgressRule.SNI_NOT_ALLOWED);
    expect(ask(p, 'a.example.com', A, { sni: 'b.example.com' }).rule).toBe(EgressRule.SNI_NOT_ALLOWED);
    expect(ask(p, 'a.example.com', A, { sni: 'a.example.com.' }).rule).toBe(EgressRule.SNI_NOT_ALLOWED);
    expect(ask(p, 'x.wild-a.example.com', A, { sni: 'wild-a.example.com' }).rule).toBe(EgressRule.SNI_NOT_ALLOWED);
  });

  test('the guardrails and the other rules apply to a consumer as to everyone', () => {
    expect(ask(p, 'a.example.com', A, { resolvedAddress: '10.1.2.3' }).rule).toBe(EgressRule.TO_PRIVATE);
    expect(ask(p, 'a.example.com', A, { resolvedAddress: '169.254.169.254' }).rule).toBe(EgressRule.TO_LINK_LOCAL);
    expect(ask(p, 'a.example.com', A, { port: 8443 }).rule).toBe(EgressRule.PORT_NOT_ALLOWED);
    expect(ask(p, 'a.example.com', A, { method: 'GET', port: 80 }).rule).toBe(EgressRule.PLAIN_HTTP_NOT_ALLOWED);
    expect(ask(p, 'a.example.com', A, { tls: false }).rule).toBe(EgressRule.NOT_TLS);
  });

  test('in audit mode a request outside every list is let through, marked, and names the consumer', () => {
    const audit = hub({ mode: EgressMode.AUDIT });
    expect(ask(audit, 'b.example.com', A)).toEqual({
      allowed: true,
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
      audited: true,
      consumers: ['team-a'],
    });
    expect(ask(audit, 'a.example.com', A, { resolvedAddress: '10.1.2.3' }).allowed).toBe(false);
  });

  test('with no shared list, only a consumer reaches anything', () => {
    const only = new EgressPolicy({ consumers: [TEAM_A] });
    expect(only.domains).toEqual([]);
    expect(ask(only, 'a.example.com', A).allowed).toBe(true);
    expect(ask(only, 'a.example.com', B).rule).toBe(EgressRule.DESTINATION_NOT_ALLOWED);
    expect(ask(only, 'anything.example.com', {}).rule).toBe(EgressRule.DESTINATION_NOT_ALLOWED);
  });

  test('the policy publishes its consumers validated and normalised', () => {
    const q = new EgressPolicy({
      consumers: [
        {
          name: 'Team.A_1',
          endpointIds: [VPCE_B, VPCE_A],
          sourceCidrs: ['10.1.0.0/16', '10.0.0.0/16'],
          allowedDomains: ['B.example.com.', '*.x.example.com', 'x.example.com'],
        },
      ],
    });
    expect(q.consumers).toEqual([
      {
        name: 'Team.A_1',
        endpointIds: [VPCE_A, VPCE_B],
        sourceCidrs: ['10.0.0.0/15'],
        allowedDomains: ['.x.example.com', 'b.example.com'],
      },
    ]);
  });

  test("a consumer's duplicate and public-suffix warnings name the consumer", () => {
    const q = new EgressPolicy({
      consumers: [{ name: 'ci', sourceCidrs: ['10.0.0.0/8'], allowedDomains: ['a.test', 'a.test', '*.amazonaws.com'] }],
    });
    expect(q.warnings).toEqual([
      "Consumer 'ci': 'a.test' is a duplicate of 'a.test' and was dropped",
      expect.stringMatching(/^Consumer 'ci': The wildcard '\*\.amazonaws\.com' covers the public suffix/),
    ]);
  });
});

describe('bad consumers fail at construction, naming the value and the rule', () => {
  const base = { allowedDomains: ['shared.example.com'] };
  test.each([
    [
      'a name with a space',
      { name: 'team a', endpointIds: [VPCE_A], allowedDomains: ['a.test'] },
      "Invalid consumers[0].name 'team a': a consumer name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it is written to the access log)",
    ],
    [
      'a name with a comma',
      { name: 'a,b', endpointIds: [VPCE_A], allowedDomains: ['a.test'] },
      "Invalid consumers[0].name 'a,b': a consumer name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it is written to the access log)",
    ],
    [
      'a name of 65 characters',
      { name: 'a'.repeat(65), endpointIds: [VPCE_A], allowedDomains: ['a.test'] },
      `Invalid consumers[0].name '${'a'.repeat(65)}': a consumer name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it is written to the access log)`,
    ],
    [
      'no identity',
      { name: 'x', allowedDomains: ['a.test'] },
      "Invalid consumers[0] ('x'): give endpointIds, sourceCidrs or both to say which clients are this consumer",
    ],
    [
      'an empty endpoint list',
      { name: 'x', endpointIds: [], allowedDomains: ['a.test'] },
      "Invalid consumers[0] ('x').endpointIds []: an empty list matches no client; omit it or list endpoint IDs",
    ],
    [
      'an empty CIDR list',
      { name: 'x', sourceCidrs: [], allowedDomains: ['a.test'] },
      "Invalid consumers[0] ('x').sourceCidrs []: an empty list matches no client; omit it or list CIDR blocks",
    ],
    [
      'a bad endpoint ID',
      { name: 'x', endpointIds: ['vpce-XYZ'], allowedDomains: ['a.test'] },
      "Invalid consumers[0] ('x').endpointIds entry 'vpce-XYZ': a VPC endpoint ID is 'vpce-' followed by 8 or 17 lower-case hex digits (e.g. 'vpce-0123456789abcdef0')",
    ],
    [
      'a bad CIDR',
      { name: 'x', sourceCidrs: ['10.0.0.1/16'], allowedDomains: ['a.test'] },
      "Invalid consumers[0] ('x').sourceCidrs entry '10.0.0.1/16': it has host bits set; did you mean '10.0.0.0/16'?",
    ],
    [
      'no destinations',
      { name: 'x', endpointIds: [VPCE_A], allowedDomains: [] },
      "Invalid consumers[0] ('x').allowedDomains []: list the destinations this consumer may reach beyond the shared list",
    ],
    [
      'a bad destination',
      { name: 'x', endpointIds: [VPCE_A], allowedDomains: ['https://a.test'] },
      "Invalid consumers[0] ('x').allowedDomains entry 'https://a.test': it is a URL; give the host name only (e.g. \"sts.us-east-1.amazonaws.com\")",
    ],
    [
      'a wildcard over a public suffix',
      { name: 'x', endpointIds: [VPCE_A], allowedDomains: ['*.co.uk'] },
      "Invalid consumers[0] ('x').allowedDomains entry '*.co.uk': the wildcard covers the public suffix 'co.uk' (ICANN section of the Public Suffix List), where anyone can register a name and receive data through the proxy. List exact host names or a wildcard under a domain you control.",
    ],
  ] as Array<[string, EgressConsumer, string]>)('%s', (_why, consumer, message) => {
    expect(errorFor({ ...base, consumers: [consumer] })).toBe(message);
  });

  test('a consumer name that is not a string is an error, even one that reads as a valid name', () => {
    expect(errorFor({ ...base, consumers: [{ ...TEAM_A, name: ['team-a'] as any }] })).toBe(
      "Invalid consumers[0].name 'team-a': a consumer name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it is written to the access log)",
    );
  });

  test("a consumer named by one kind of identity passes the policy's gate on the other kind", () => {
    // By network alone, under a policy that lists endpoint IDs; by endpoint alone, under one that lists sources.
    expect(
      () => new EgressPolicy({ ...base, allowedEndpointIds: [VPCE_A], sourceCidrs: ['10.0.0.0/8'], consumers: [VPN] }),
    ).not.toThrow();
    expect(() => new EgressPolicy({ ...base, sourceCidrs: ['10.0.0.0/8'], consumers: [TEAM_A] })).not.toThrow();
  });

  test('two consumers with the same name (ignoring case) are an error', () => {
    expect(errorFor({ ...base, consumers: [TEAM_A, { ...TEAM_B, name: 'Team-A' }] })).toBe(
      "Invalid consumers[1] ('Team-A').name: the name is already used by 'team-a' (names are unique, ignoring case)",
    );
  });

  test("a consumer endpoint outside the policy's allowedEndpointIds is an error", () => {
    expect(errorFor({ ...base, allowedEndpointIds: [VPCE_B], consumers: [TEAM_A] })).toBe(
      `Invalid consumers[0] ('team-a').endpointIds entry '${VPCE_A}': it is not in the policy's allowedEndpointIds, which deny it before a consumer's destinations apply; add it there too`,
    );
    expect(() => new EgressPolicy({ ...base, allowedEndpointIds: [VPCE_A], consumers: [TEAM_A] })).not.toThrow();
  });

  test("a consumer network not inside the policy's sourceCidrs is an error", () => {
    expect(errorFor({ ...base, sourceCidrs: ['10.70.0.0/17'], consumers: [VPN] })).toBe(
      "Invalid consumers[0] ('vpn').sourceCidrs entry '10.70.0.0/16': it is not inside the policy's sourceCidrs, which deny those clients before a consumer's destinations apply",
    );
    expect(() => new EgressPolicy({ ...base, sourceCidrs: ['10.0.0.0/8'], consumers: [VPN] })).not.toThrow();
  });

  test('consumers need PROXY protocol to be rendered for Squid', () => {
    expect(() => SquidConfig.render(hub())).toThrow(
      'The policy sets sourceCidrs, allowedEndpointIds or consumers, which are judged on the client identity that PROXY protocol v2 carries; enable PROXY protocol (proxyProtocolSources) or remove them',
    );
  });
});

describe('what the chain renders for consumers', () => {
  const render = (p: EgressPolicy) =>
    renderChain(p._chainPolicy(), { allowedDomains: '/d', subdomainOnlyNames: '/s', identity: true });

  test('a policy without consumers renders no consumer lines and no consumers file', () => {
    const p = new EgressPolicy({ allowedDomains: ['a.test'] });
    const lines = render(p);
    expect(lines.consumerAcls).toEqual([]);
    expect([...lines.httpAccess, ...lines.sslBump].join('\n')).not.toMatch(/egress_c\d|granted|identif/);
    const conf = SquidConfig.render(p, { proxyProtocolSources: ['10.0.0.0/24'] });
    expect(conf.files.map((f) => f.path)).not.toContain('/etc/squid/egress-consumers.conf');
    expect(conf.files[0].content).not.toMatch(/^include /m);
  });

  test('the client is identified once per connection; the destination and server-name rules consult the consumers only for names the shared list lacks', () => {
    const p = new EgressPolicy({ allowedDomains: ['*.star.test'], consumers: [TEAM_A, VPN, PINNED] });
    const { httpAccess, sslBump } = render(p);
    const start = httpAccess.indexOf('http_access deny egress_endpoint !all') + 1;
    expect(httpAccess.slice(start, start + 2)).toEqual([
      '# Consumers: mark which consumers the client is, once per connection (annotates only).',
      'http_access deny !egress_identified egress_consumers egress_identify !all',
    ]);
    // The shared list's ACL comes first: a name it holds never walks the consumers.
    expect(httpAccess).toContain(
      'http_access allow CONNECT egress_subdomain_only_names !egress_consumer_destination egress_client_rule_destination_not_allowed egress_refuse',
    );
    expect(httpAccess).toContain(
      'http_access allow CONNECT !egress_allowed_domains !egress_consumer_destination egress_client_rule_destination_not_allowed egress_refuse',
    );
    expect(httpAccess).toContain(
      'http_access deny !CONNECT !egress_allowed_domains !egress_consumer_destination egress_rule_destination_not_allowed',
    );
    expect(httpAccess.slice(-3)).toEqual([
      'http_access allow CONNECT egress_granted egress_client_rule_allowlisted',
      'http_access allow !CONNECT egress_granted egress_rule_allowlisted',
      'http_access deny all',
    ]);
    expect(sslBump).toContain(
      'ssl_bump terminate egress_subdomain_only_sni !egress_consumer_sni egress_client_rule_sni_not_allowed',
    );
    expect(sslBump).toContain(
      'ssl_bump terminate !egress_allowed_sni !egress_consumer_sni egress_client_rule_sni_not_allowed',
    );
  });

  test("each consumer's ACLs: who it is, a log name appended, its destinations a few per line, and its grants", () => {
    const many: EgressConsumer = {
      name: 'many',
      endpointIds: [VPCE_B, VPCE_A],
      allowedDomains: Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}.example.com`),
    };
    const p = new EgressPolicy({ consumers: [TEAM_A, many, VPN, PINNED] });
    const acls = render(p).consumerAcls;
    expect(acls.slice(0, 5)).toEqual([
      '# Rendered by cdk-private-egress-proxy: the consumers of the egress policy, each with its own destinations.',
      'acl egress_identify annotate_client egress_identified=yes',
      'acl egress_identified note egress_identified yes',
      'acl egress_grant annotate_transaction egress_granted=yes',
      'acl egress_granted note egress_granted yes',
    ]);
    const team = (n: number) => acls.slice(acls.findIndex((l) => l.startsWith(`# consumer ${n} `)));
    expect(team(1).slice(0, 14)).toEqual([
      `# consumer 1 'team-a': endpoints ${VPCE_A}; 2 destinations`,
      `acl egress_c1_endpoint note endpoint ${VPCE_A}`,
      'acl egress_c1_mark annotate_client egress_c1=yes',
      'acl egress_c1_log annotate_client egress_consumer+=team-a',
      'acl egress_c1 note egress_c1 yes',
      'acl egress_c1_is all-of egress_c1_endpoint egress_c1_mark egress_c1_log',
      'acl egress_c1_check any-of egress_c1_is all',
      'acl egress_c1_domains dstdomain -n .wild-a.example.com a.example.com',
      'acl egress_c1_sni ssl::server_name .wild-a.example.com a.example.com',
      'acl egress_c1_apex dstdomain -n wild-a.example.com',
      'acl egress_c1_apex_sni ssl::server_name wild-a.example.com',
      'acl egress_c1_dest all-of egress_c1 egress_c1_domains !egress_c1_apex egress_grant',
      'acl egress_c1_tls all-of egress_c1 egress_c1_sni !egress_c1_apex_sni',
      '',
    ]);
    const d = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `d${String(from + i).padStart(2, '0')}.example.com`).join(' ');
    expect(team(2).slice(0, 13)).toEqual([
      `# consumer 2 'many': endpoints ${VPCE_A} ${VPCE_B}; 20 destinations`,
      `acl egress_c2_endpoint note endpoint ${VPCE_A} ${VPCE_B}`,
      'acl egress_c2_mark annotate_client egress_c2=yes',
      'acl egress_c2_log annotate_client egress_consumer+=many',
      'acl egress_c2 note egress_c2 yes',
      'acl egress_c2_is all-of egress_c2_endpoint egress_c2_mark egress_c2_log',
      'acl egress_c2_check any-of egress_c2_is all',
      `acl egress_c2_domains dstdomain -n ${d(0, 16)}`,
      `acl egress_c2_domains dstdomain -n ${d(16, 20)}`,
      `acl egress_c2_sni ssl::server_name ${d(0, 16)}`,
      `acl egress_c2_sni ssl::server_name ${d(16, 20)}`,
      'acl egress_c2_dest all-of egress_c2 egress_c2_domains egress_grant',
      'acl egress_c2_tls all-of egress_c2 egress_c2_sni',
    ]);
    expect(team(3).slice(0, 2)).toEqual([
      "# consumer 3 'vpn': sources 10.70.0.0/16; 1 destinations",
      'acl egress_c3_source src 10.70.0.0/16',
    ]);
    expect(team(4).slice(0, 7)).toEqual([
      `# consumer 4 'pinned': endpoints ${VPCE_C}; sources 10.80.0.0/16 2001:db8:80::/48; 1 destinations`,
      `acl egress_c4_endpoint note endpoint ${VPCE_C}`,
      'acl egress_c4_source src 10.80.0.0/16 2001:db8:80::/48',
      'acl egress_c4_mark annotate_client egress_c4=yes',
      'acl egress_c4_log annotate_client egress_consumer+=pinned',
      'acl egress_c4 note egress_c4 yes',
      'acl egress_c4_is all-of egress_c4_endpoint egress_c4_source egress_c4_mark egress_c4_log',
    ]);
  });

  test('the walks over all consumers go by groups of 16, each entered only when its pre-check matches the client', () => {
    const consumers: EgressConsumer[] = Array.from({ length: 33 }, (_, i) =>
      i === 17
        ? { name: `net-${i + 1}`, sourceCidrs: ['10.70.0.0/16'], allowedDomains: [`n${i + 1}.example.com`] }
        : {
            name: `team-${i + 1}`,
            endpointIds: [`vpce-${(i + 1).toString(16).padStart(17, '0')}`],
            ...(i === 18 ? { sourceCidrs: ['10.80.0.0/16'] } : {}),
            allowedDomains: [`t${i + 1}.example.com`],
          },
    );
    const acls = render(new EgressPolicy({ consumers })).consumerAcls;
    const id = (i: number) => `vpce-${i.toString(16).padStart(17, '0')}`;
    const members = (from: number, to: number, suffix: string) =>
      Array.from({ length: to - from + 1 }, (_, i) => `egress_c${from + i}${suffix}`).join(' ');
    const group = (k: number) =>
      acls.slice(acls.indexOf(`# group ${k}: consumers ${(k - 1) * 16 + 1}-${Math.min(k * 16, 33)}`));
    expect(group(1).slice(0, 13)).toEqual([
      '# group 1: consumers 1-16',
      `acl egress_g1_endpoint note endpoint ${Array.from({ length: 16 }, (_, i) => id(i + 1)).join(' ')}`,
      'acl egress_g1_pre any-of egress_g1_endpoint',
      'acl egress_g1_mark annotate_client egress_g1=yes',
      'acl egress_g1 note egress_g1 yes',
      `acl egress_g1_members all-of ${members(1, 16, '_check')}`,
      'acl egress_g1_scan all-of egress_g1_pre egress_g1_mark egress_g1_members',
      'acl egress_g1_check any-of egress_g1_scan all',
      `acl egress_g1_dest_any any-of ${members(1, 16, '_dest')}`,
      'acl egress_g1_dest all-of egress_g1 egress_g1_dest_any',
      `acl egress_g1_tls_any any-of ${members(1, 16, '_tls')}`,
      'acl egress_g1_tls all-of egress_g1 egress_g1_tls_any',
      '',
    ]);
    // Group 2 holds a consumer by network alone (its networks join the pre-check) and one by
    // endpoint and network (its endpoint suffices for the pre-check: a superset of its clients).
    expect(group(2).slice(0, 4)).toEqual([
      '# group 2: consumers 17-32',
      `acl egress_g2_endpoint note endpoint ${[17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32].map(id).join(' ')}`,
      'acl egress_g2_source src 10.70.0.0/16',
      'acl egress_g2_pre any-of egress_g2_endpoint egress_g2_source',
    ]);
    expect(group(3)[5]).toBe('acl egress_g3_members all-of egress_c33_check');
    expect(acls.slice(-5)).toEqual([
      '',
      '# Every consumer the client is (once per connection); whether one of them lists the destination or server name.',
      'acl egress_consumers all-of egress_g1_check egress_g2_check egress_g3_check',
      'acl egress_consumer_destination any-of egress_g1_dest egress_g2_dest egress_g3_dest',
      'acl egress_consumer_sni any-of egress_g1_tls egress_g2_tls egress_g3_tls',
    ]);
  });

  test('over 16 groups the walk nests its all-of by 16 (repeated all-of lines would be ORed, one line would grow past 8 KiB)', () => {
    const checks = (n: number) => Array.from({ length: n }, (_, i) => `g${i + 1}`);
    expect(allOf('x', checks(16))).toEqual([`acl x all-of ${checks(16).join(' ')}`]);
    expect(allOf('x', checks(18))).toEqual([
      `acl x_1_1 all-of ${checks(16).join(' ')}`,
      'acl x_1_2 all-of g17 g18',
      'acl x all-of x_1_1 x_1_2',
    ]);
    expect(allOf('x', checks(32))).toEqual([
      `acl x_1_1 all-of ${checks(16).join(' ')}`,
      `acl x_1_2 all-of ${checks(32).slice(16).join(' ')}`,
      'acl x all-of x_1_1 x_1_2',
    ]);
    const deep = allOf('x', checks(257));
    expect(deep).toHaveLength(17 + 2 + 1);
    expect(deep[16]).toBe('acl x_1_17 all-of g257');
    expect(deep.slice(-3)).toEqual([
      `acl x_2_1 all-of ${Array.from({ length: 16 }, (_, i) => `x_1_${i + 1}`).join(' ')}`,
      'acl x_2_2 all-of x_1_17',
      'acl x all-of x_2_1 x_2_2',
    ]);
    // Every name is reached from the top exactly once.
    const defs = new Map(deep.map((l) => [l.split(' ')[1], l.split(' ').slice(3)]));
    const leaves = (n: string): string[] => (defs.has(n) ? defs.get(n)!.flatMap(leaves) : [n]);
    expect(leaves('x')).toEqual(checks(257));
  });

  test('32 consumers make exactly two groups; a group of consumers by network alone has no endpoint pre-check', () => {
    const consumers: EgressConsumer[] = Array.from({ length: 32 }, (_, i) => ({
      name: `n${i + 1}`,
      sourceCidrs: [`10.${i}.0.0/16`],
      allowedDomains: [`n${i + 1}.example.com`],
    }));
    consumers[0] = {
      ...consumers[0],
      sourceCidrs: ['10.100.0.0/24', '10.102.0.0/24', '10.104.0.0/24', '10.106.0.0/24'],
    };
    consumers[1] = {
      ...consumers[1],
      sourceCidrs: ['10.110.0.0/24', '10.112.0.0/24', '10.114.0.0/24', '10.116.0.0/24', '10.118.0.0/24'],
    };
    const acls = render(new EgressPolicy({ consumers })).consumerAcls;
    expect(acls.filter((l) => l.startsWith('# group '))).toEqual([
      '# group 1: consumers 1-16',
      '# group 2: consumers 17-32',
    ]);
    expect(acls).toContain('acl egress_g1_pre any-of egress_g1_source');
    expect(acls.some((l) => l.startsWith('acl egress_g1_endpoint'))).toBe(false);
    // Comments list up to four values, then how many more.
    expect(acls).toContain(
      "# consumer 1 'n1': sources 10.100.0.0/24 10.102.0.0/24 10.104.0.0/24 10.106.0.0/24; 1 destinations",
    );
    expect(acls).toContain(
      "# consumer 2 'n2': sources 10.110.0.0/24 10.112.0.0/24 10.114.0.0/24 10.116.0.0/24 and 1 more; 1 destinations",
    );
    // The file holds nothing but ACLs, comments and blank lines.
    expect(acls.filter((l) => l !== '' && !l.startsWith('# ') && !l.startsWith('acl '))).toEqual([]);
  });

  test('300 consumers: the walk nests; a consumer with 40 endpoint IDs gets its IDs 16 per line and a short comment', () => {
    const ids = (c: number, n: number) =>
      Array.from({ length: n }, (_, i) => `vpce-${c.toString(16).padStart(8, '0')}${i.toString(16).padStart(9, '0')}`);
    const consumers: EgressConsumer[] = Array.from({ length: 300 }, (_, c) => ({
      name: `team-${c + 1}`,
      endpointIds: ids(c + 1, c === 0 ? 40 : 1),
      allowedDomains: [`t${c + 1}.example.com`],
    }));
    const acls = render(new EgressPolicy({ consumers })).consumerAcls;
    expect(acls.filter((l) => l.startsWith('acl egress_consumers'))).toEqual([
      `acl egress_consumers_1_1 all-of ${Array.from({ length: 16 }, (_, i) => `egress_g${i + 1}_check`).join(' ')}`,
      'acl egress_consumers_1_2 all-of egress_g17_check egress_g18_check egress_g19_check',
      'acl egress_consumers all-of egress_consumers_1_1 egress_consumers_1_2',
    ]);
    expect(acls.filter((l) => l.startsWith('acl egress_c1_endpoint '))).toEqual([
      `acl egress_c1_endpoint note endpoint ${ids(1, 40).slice(0, 16).join(' ')}`,
      `acl egress_c1_endpoint note endpoint ${ids(1, 40).slice(16, 32).join(' ')}`,
      `acl egress_c1_endpoint note endpoint ${ids(1, 40).slice(32).join(' ')}`,
    ]);
    expect(acls).toContain(
      `# consumer 1 'team-1': endpoints ${ids(1, 40).slice(0, 4).join(' ')} and 36 more; 1 destinations`,
    );
    // The group's pre-check holds all its members' IDs (55), in as few lines as the length allows.
    const pre = acls.filter((l) => l.startsWith('acl egress_g1_endpoint '));
    expect(pre.flatMap((l) => l.split(' ').slice(4))).toEqual([
      ...ids(1, 40),
      ...consumers.slice(1, 16).flatMap((c) => c.endpointIds!),
    ]);
    expect(pre).toHaveLength(1);
  });

  test("squid.conf includes the consumers' file in its ACL section and logs the consumers after the endpoint", () => {
    const conf = SquidConfig.render(hub(), { proxyProtocolSources: ['10.0.0.0/24'] });
    const main = conf.files[0].content;
    const file = conf.files.find((f) => f.path === '/etc/squid/egress-consumers.conf')!;
    expect(file.mode).toBe('000644');
    expect(file.content.split('\n')).toContain('acl egress_c4_source src 10.80.0.0/16 2001:db8:80::/48');
    expect(main).toMatch(
      /^# The consumers \(4\): who each one is, and its own destinations\.\ninclude \/etc\/squid\/egress-consumers\.conf$/m,
    );
    expect(main.indexOf('include /etc/squid/egress-consumers.conf')).toBeLessThan(main.indexOf('http_access '));
    expect(main).toMatch(/endpoint=%\{endpoint\}note consumer=%\{egress_consumer\}note method=/);
  });
});
