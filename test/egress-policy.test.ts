import { EgressMode, EgressPolicy, EgressPolicyProps, EgressRequest, EgressRule } from '../src/egress-policy';

/** A policy over the given allowlist, with any other props. */
function policy(allowedDomains: string[], props: Omit<EgressPolicyProps, 'allowedDomains'> = {}): EgressPolicy {
  return new EgressPolicy({ ...props, allowedDomains });
}

/** The decision for a request, as `{ allowed, rule, audited }`. */
function decide(p: EgressPolicy, request: EgressRequest | string) {
  return p.evaluate(typeof request === 'string' ? { host: request } : request);
}

const ALLOWED = { allowed: true, rule: EgressRule.ALLOWLISTED, audited: false, consumers: [] };
const denied = (rule: EgressRule) => ({ allowed: false, rule, audited: false, consumers: [] });
const audited = (rule: EgressRule) => ({ allowed: true, rule, audited: true, consumers: [] });

/** The message the constructor throws for these props (fails the test if it does not throw). */
function errorFor(props: EgressPolicyProps): string {
  try {
    new EgressPolicy(props);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected new EgressPolicy(${JSON.stringify(props)}) to throw`);
}

const ENDPOINT_A = 'vpce-0123456789abcdef0';
const ENDPOINT_B = 'vpce-0fedcba9876543210';

describe('destinations', () => {
  test('an exact entry allows exactly that host name', () => {
    const p = policy(['sts.us-east-1.amazonaws.com']);
    expect(decide(p, 'sts.us-east-1.amazonaws.com')).toEqual(ALLOWED);
  });

  test('an exact entry does not allow its subdomains', () => {
    const p = policy(['sts.us-east-1.amazonaws.com']);
    expect(decide(p, 'x.sts.us-east-1.amazonaws.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('an exact entry does not allow its parent domain', () => {
    const p = policy(['sts.us-east-1.amazonaws.com']);
    expect(decide(p, 'us-east-1.amazonaws.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('a host name not on the allowlist is denied by destination-not-allowed', () => {
    expect(decide(policy(['example.com']), 'other.test')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('.example.com allows the apex example.com', () => {
    expect(decide(policy(['.example.com']), 'example.com')).toEqual(ALLOWED);
  });

  test('.example.com allows subdomains at any depth', () => {
    const p = policy(['.example.com']);
    expect(decide(p, 'api.example.com')).toEqual(ALLOWED);
    expect(decide(p, 'a.b.c.example.com')).toEqual(ALLOWED);
  });

  test('*.example.com allows subdomains at any depth', () => {
    const p = policy(['*.example.com']);
    expect(decide(p, 'api.example.com')).toEqual(ALLOWED);
    expect(decide(p, 'a.b.c.example.com')).toEqual(ALLOWED);
  });

  test('*.example.com denies the apex example.com', () => {
    expect(decide(policy(['*.example.com']), 'example.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('*.example.com is published as the Squid entry .example.com plus a subdomain-only apex', () => {
    const p = policy(['*.example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.subdomainOnlyNames).toEqual(['example.com']);
  });

  test('*.example.com together with example.com allows the apex and its subdomains', () => {
    const p = policy(['*.example.com', 'example.com']);
    expect(decide(p, 'example.com')).toEqual(ALLOWED);
    expect(decide(p, 'api.example.com')).toEqual(ALLOWED);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.subdomainOnlyNames).toEqual([]);
  });

  test('subdomain-only apexes are published sorted', () => {
    expect(policy(['*.b.test', '*.a.test', 'c.test']).subdomainOnlyNames).toEqual(['a.test', 'b.test']);
  });

  test('a covered entry names the wildcard that covers it, even when the exact apex was listed first', () => {
    const p = policy(['example.com', 'api.example.com', '*.example.com']);
    expect(p.warnings).toEqual(["'api.example.com' is already covered by '*.example.com' and was dropped"]);
  });

  test('.example.com has no subdomain-only apex', () => {
    expect(policy(['.example.com']).subdomainOnlyNames).toEqual([]);
  });

  test('the requested host is matched case-insensitively', () => {
    const p = policy(['example.com', '.wild.test']);
    expect(decide(p, 'EXAMPLE.Com')).toEqual(ALLOWED);
    expect(decide(p, 'Api.WILD.test')).toEqual(ALLOWED);
  });

  test('allowlist entries are folded to lower case', () => {
    const p = policy(['Example.COM', '*.Wild.Test']);
    expect(p.domains).toEqual(['.wild.test', 'example.com']);
    expect(decide(p, 'example.com')).toEqual(ALLOWED);
    expect(decide(p, 'a.wild.test')).toEqual(ALLOWED);
  });

  test('a trailing dot on the requested host is normalised away', () => {
    const p = policy(['example.com', '.wild.test']);
    expect(decide(p, 'example.com.')).toEqual(ALLOWED);
    expect(decide(p, 'a.wild.test.')).toEqual(ALLOWED);
  });

  test('a trailing dot on an allowlist entry is normalised away', () => {
    const p = policy(['example.com.', '.wild.test.', '*.star.test.']);
    expect(p.domains).toEqual(['.star.test', '.wild.test', 'example.com']);
    expect(decide(p, 'example.com')).toEqual(ALLOWED);
  });

  test('every trailing dot on the requested host is removed, as Squid does', () => {
    expect(decide(policy(['example.com']), 'example.com..')).toEqual(ALLOWED);
    expect(decide(policy(['example.com']), 'other.test...')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('a host name that only ends with the allowed text is denied (evilexample.com)', () => {
    const p = policy(['example.com', '.wild.test', '*.star.test']);
    expect(decide(p, 'evilexample.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
    expect(decide(p, 'evilwild.test')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
    expect(decide(p, 'evilstar.test')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('an allowed name followed by another domain is denied (example.com.evil.test)', () => {
    const p = policy(['example.com', '.wild.test', '*.star.test']);
    expect(decide(p, 'example.com.evil.test')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
    expect(decide(p, 'a.wild.test.evil.test')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
    expect(decide(p, 'a.star.test.evil.test')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('an allowed name with a different label prefix glued on is denied (xexample.com vs .example.com)', () => {
    expect(decide(policy(['.example.com']), 'api-example.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test.each(['', '.', '...'])('an empty requested host (%j) is an error naming the host', (host) => {
    expect(() => decide(policy(['example.com']), host)).toThrow(`Invalid request host '${host}': it is empty`);
  });

  test.each([
    ['dotted IPv4', '192.0.2.1'],
    ['dotted IPv4 with a trailing dot', '192.0.2.1.'],
    ['shortened IPv4', '127.1'],
    ['decimal IPv4', '2130706433'],
    ['hex IPv4', '0x7f000001'],
    ['hex-dotted IPv4', '0x7f.0.0.1'],
    ['octal-dotted IPv4', '0177.0.0.1'],
    ['octal IPv4', '017700000001'],
    ['upper-case hex IPv4', '0X7F000001'],
    ['IPv6 loopback', '::1'],
    ['bracketed IPv6 loopback', '[::1]'],
    ['IPv6', '2001:db8::1'],
    ['bracketed IPv6', '[2001:db8::1]'],
    ['IPv4-mapped IPv6', '::ffff:192.0.2.1'],
    ['a name whose last label is a number', 'example.com.1'],
  ])('a %s destination (%s) is denied by the ip-literal rule', (_what, host) => {
    // An allowlist that would match the host if it were a name under example.com.
    expect(decide(policy(['.example.com']), host)).toEqual(denied(EgressRule.IP_LITERAL));
  });

  test('a host name that starts with digits but ends in letters is not an IP literal', () => {
    expect(decide(policy(['.example.com']), '192.0.2.1.example.com')).toEqual(ALLOWED);
  });
});

describe('TLS inside CONNECT', () => {
  test('an SNI equal to the allowed CONNECT host is allowed', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', sni: 'example.com' })).toEqual(ALLOWED);
  });

  test('no SNI is judged on the CONNECT host alone', () => {
    expect(decide(policy(['example.com']), { host: 'example.com' })).toEqual(ALLOWED);
  });

  test('an SNI is matched case-insensitively', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', sni: 'EXAMPLE.com' })).toEqual(ALLOWED);
  });

  test('an SNI with a trailing dot is denied (RFC 6066 names have none)', () => {
    const p = policy(['example.com', '.wild.test']);
    expect(decide(p, { host: 'example.com', sni: 'example.com.' })).toEqual(denied(EgressRule.SNI_NOT_ALLOWED));
    expect(decide(p, { host: 'a.wild.test', sni: 'a.wild.test.' })).toEqual(denied(EgressRule.SNI_NOT_ALLOWED));
  });

  test('an SNI not on the allowlist inside a tunnel to an allowed host is denied', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', sni: 'evil.test' })).toEqual(
      denied(EgressRule.SNI_NOT_ALLOWED),
    );
  });

  test('an SNI that is another allowlisted name is allowed', () => {
    expect(decide(policy(['example.com', 'other.test']), { host: 'example.com', sni: 'other.test' })).toEqual(ALLOWED);
  });

  test('an allowed SNI does not rescue a CONNECT to a host that is not allowed', () => {
    expect(decide(policy(['example.com']), { host: 'evil.test', sni: 'example.com' })).toEqual(
      denied(EgressRule.DESTINATION_NOT_ALLOWED),
    );
  });

  test('an SNI that is the apex of a *.name entry is denied', () => {
    expect(decide(policy(['*.example.com']), { host: 'api.example.com', sni: 'example.com' })).toEqual(
      denied(EgressRule.SNI_NOT_ALLOWED),
    );
  });

  test('an IP-literal SNI is denied', () => {
    expect(decide(policy(['.example.com']), { host: 'example.com', sni: '192.0.2.1' })).toEqual(
      denied(EgressRule.SNI_NOT_ALLOWED),
    );
  });

  test('an empty SNI is denied', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', sni: '' })).toEqual(
      denied(EgressRule.SNI_NOT_ALLOWED),
    );
  });

  test('non-TLS bytes inside a tunnel to an allowed host are denied by not-tls', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', tls: false })).toEqual(denied(EgressRule.NOT_TLS));
  });

  test('SNI and TLS are not checked for plain HTTP', () => {
    const p = policy(['example.com'], { allowPlainHttp: true });
    expect(decide(p, { host: 'example.com', method: 'GET', tls: false, sni: 'evil.test' })).toEqual(ALLOWED);
  });
});

describe('ports', () => {
  test('the default ports are [443]', () => {
    expect(policy(['example.com']).ports).toEqual([443]);
  });

  test('a CONNECT with no port is judged as port 443', () => {
    expect(decide(policy(['example.com']), { host: 'example.com' })).toEqual(ALLOWED);
  });

  test('a CONNECT to port 443 is allowed by default', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', port: 443 })).toEqual(ALLOWED);
  });

  test('a CONNECT to another port is denied by default', () => {
    const p = policy(['example.com']);
    expect(decide(p, { host: 'example.com', port: 8443 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
    expect(decide(p, { host: 'example.com', port: 22 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
  });

  test('a custom port list replaces the default', () => {
    const p = policy(['example.com'], { ports: [8443, 9443] });
    expect(decide(p, { host: 'example.com', port: 8443 })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', port: 9443 })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', port: 443 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
  });

  test('ports are sorted and de-duplicated', () => {
    expect(policy(['example.com'], { ports: [9443, 443, 8443, 443] }).ports).toEqual([443, 8443, 9443]);
  });

  test('plain HTTP is off by default', () => {
    expect(policy(['example.com']).allowPlainHttp).toBe(false);
  });

  test('plain HTTP to port 80 is denied by plain-http-not-allowed by default', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', method: 'GET', port: 80 })).toEqual(
      denied(EgressRule.PLAIN_HTTP_NOT_ALLOWED),
    );
  });

  test('plain HTTP to port 80 is allowed when allowPlainHttp is set', () => {
    const p = policy(['example.com'], { allowPlainHttp: true });
    expect(decide(p, { host: 'example.com', method: 'GET', port: 80 })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', method: 'POST', port: 80 })).toEqual(ALLOWED);
  });

  test('plain HTTP with no port is judged as port 80', () => {
    expect(decide(policy(['example.com'], { allowPlainHttp: true }), { host: 'example.com', method: 'GET' })).toEqual(
      ALLOWED,
    );
  });

  test('plain HTTP to any port but 80 is denied even when allowPlainHttp is set', () => {
    const p = policy(['example.com'], { allowPlainHttp: true, ports: [443, 8080] });
    expect(decide(p, { host: 'example.com', method: 'GET', port: 443 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
    expect(decide(p, { host: 'example.com', method: 'GET', port: 8080 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
  });

  test('plain HTTP to a host not on the allowlist is denied when allowPlainHttp is set', () => {
    const p = policy(['example.com'], { allowPlainHttp: true });
    expect(decide(p, { host: 'evil.test', method: 'GET' })).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test('allowPlainHttp does not open port 80 to CONNECT', () => {
    const p = policy(['example.com'], { allowPlainHttp: true });
    expect(decide(p, { host: 'example.com', port: 80 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
  });

  test('the method is matched case-insensitively', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', method: 'connect' })).toEqual(ALLOWED);
    expect(decide(policy(['example.com']), { host: 'example.com', method: 'get' })).toEqual(
      denied(EgressRule.PLAIN_HTTP_NOT_ALLOWED),
    );
  });
});

describe('sources', () => {
  test('without sourceCidrs any source is allowed, also an unknown one', () => {
    const p = policy(['example.com']);
    expect(p.sourceCidrs).toEqual([]);
    expect(decide(p, { host: 'example.com', sourceAddress: '203.0.113.9' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com' })).toEqual(ALLOWED);
  });

  test('an IPv4 source inside sourceCidrs is allowed', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/16'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '10.0.255.254' })).toEqual(ALLOWED);
  });

  test('an IPv4 source outside sourceCidrs is denied by source-not-allowed', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/16'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '10.1.0.1' })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('an IPv6 source inside sourceCidrs is allowed', () => {
    const p = policy(['example.com'], { sourceCidrs: ['2001:db8:1::/48'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '2001:db8:1:ffff::1' })).toEqual(ALLOWED);
  });

  test('an IPv6 source outside sourceCidrs is denied by source-not-allowed', () => {
    const p = policy(['example.com'], { sourceCidrs: ['2001:db8:1::/48'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '2001:db8:2::1' })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('IPv4 and IPv6 CIDRs can be mixed', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '10.9.9.9' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', sourceAddress: '2001:db8::9' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', sourceAddress: '192.0.2.9' })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('an IPv4-mapped IPv6 source is judged as its IPv4 address', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/8'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '::ffff:10.1.2.3' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', sourceAddress: '::FFFF:10.1.2.3' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', sourceAddress: '::ffff:a01:203' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', sourceAddress: '::ffff:192.0.2.1' })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('an unknown source is denied when sourceCidrs is set', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/8'] });
    expect(decide(p, { host: 'example.com' })).toEqual(denied(EgressRule.SOURCE_NOT_ALLOWED));
  });

  test('a source that is not an IP address is an error naming sourceAddress', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/8'] });
    expect(() => decide(p, { host: 'example.com', sourceAddress: 'client.example.com' })).toThrow(
      'Invalid request sourceAddress "client.example.com": not an IPv4 or IPv6 address',
    );
  });

  test('a /0 source CIDR allows every source of its family', () => {
    const p = policy(['example.com'], { sourceCidrs: ['0.0.0.0/0'] });
    expect(decide(p, { host: 'example.com', sourceAddress: '203.0.113.1' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', sourceAddress: '2001:db8::1' })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('sourceCidrs are published in canonical form without duplicates', () => {
    const p = policy(['example.com'], { sourceCidrs: ['2001:DB8:0::/32', '10.0.0.0/8', '2001:db8::/32'] });
    expect(p.sourceCidrs).toEqual(['2001:db8::/32', '10.0.0.0/8']);
  });
});

describe('endpoint IDs', () => {
  test('without allowedEndpointIds any endpoint is allowed, also none', () => {
    const p = policy(['example.com']);
    expect(p.allowedEndpointIds).toEqual([]);
    expect(decide(p, { host: 'example.com', endpointId: ENDPOINT_B })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com' })).toEqual(ALLOWED);
  });

  test('a listed endpoint ID is allowed', () => {
    const p = policy(['example.com'], { allowedEndpointIds: [ENDPOINT_A] });
    expect(decide(p, { host: 'example.com', endpointId: ENDPOINT_A })).toEqual(ALLOWED);
  });

  test('an 8-hex-digit endpoint ID is accepted and matched', () => {
    const p = policy(['example.com'], { allowedEndpointIds: ['vpce-0123abcd'] });
    expect(decide(p, { host: 'example.com', endpointId: 'vpce-0123abcd' })).toEqual(ALLOWED);
  });

  test('an endpoint ID that is not listed is denied by endpoint-not-allowed', () => {
    const p = policy(['example.com'], { allowedEndpointIds: [ENDPOINT_A] });
    expect(decide(p, { host: 'example.com', endpointId: ENDPOINT_B })).toEqual(denied(EgressRule.ENDPOINT_NOT_ALLOWED));
  });

  test('a request without an endpoint ID is denied when allowedEndpointIds is set', () => {
    const p = policy(['example.com'], { allowedEndpointIds: [ENDPOINT_A] });
    expect(decide(p, { host: 'example.com' })).toEqual(denied(EgressRule.ENDPOINT_NOT_ALLOWED));
  });

  test('allowedEndpointIds are published sorted without duplicates', () => {
    const p = policy(['example.com'], { allowedEndpointIds: [ENDPOINT_B, ENDPOINT_A, ENDPOINT_B] });
    expect(p.allowedEndpointIds).toEqual([ENDPOINT_A, ENDPOINT_B]);
  });
});

describe('audit mode', () => {
  const audit = (props: Omit<EgressPolicyProps, 'allowedDomains' | 'mode'> = {}) =>
    policy(['example.com'], { ...props, mode: EgressMode.AUDIT });

  test('enforce is the default mode', () => {
    expect(policy(['example.com']).mode).toBe(EgressMode.ENFORCE);
  });

  test('an allowlisted request is allowed, not audited, by the allowlisted rule', () => {
    expect(decide(audit(), 'example.com')).toEqual(ALLOWED);
  });

  test.each<[string, Omit<EgressPolicyProps, 'allowedDomains' | 'mode'>, EgressRequest, EgressRule]>([
    ['a destination not on the allowlist', {}, { host: 'evil.test' }, EgressRule.DESTINATION_NOT_ALLOWED],
    ['a disallowed port', {}, { host: 'example.com', port: 8443 }, EgressRule.PORT_NOT_ALLOWED],
    ['plain HTTP', {}, { host: 'example.com', method: 'GET' }, EgressRule.PLAIN_HTTP_NOT_ALLOWED],
    ['an IP literal', {}, { host: '52.94.0.1' }, EgressRule.IP_LITERAL],
    ['a disallowed SNI', {}, { host: 'example.com', sni: 'evil.test' }, EgressRule.SNI_NOT_ALLOWED],
    ['non-TLS bytes', {}, { host: 'example.com', tls: false }, EgressRule.NOT_TLS],
    [
      'a disallowed source',
      { sourceCidrs: ['10.0.0.0/8'] },
      { host: 'example.com', sourceAddress: '192.0.2.1' },
      EgressRule.SOURCE_NOT_ALLOWED,
    ],
    [
      'a disallowed endpoint',
      { allowedEndpointIds: [ENDPOINT_A] },
      { host: 'example.com', endpointId: ENDPOINT_B },
      EgressRule.ENDPOINT_NOT_ALLOWED,
    ],
  ])('%s is allowed, marked audited, and names the rule enforce mode would apply', (_what, props, request, rule) => {
    expect(decide(audit(props), request)).toEqual(audited(rule));
    // The same request in enforce mode is denied by that rule.
    expect(decide(policy(['example.com'], props), request)).toEqual(denied(rule));
  });

  test('an empty allowlist is accepted in audit mode and audits every destination', () => {
    const p = new EgressPolicy({ mode: EgressMode.AUDIT });
    expect(p.domains).toEqual([]);
    expect(decide(p, 'example.com')).toEqual(audited(EgressRule.DESTINATION_NOT_ALLOWED));
  });

  test.each(['127.0.0.1', '::1'])('a destination resolving to localhost (%s) is still denied', (addr) => {
    expect(decide(audit(), { host: 'example.com', resolvedAddress: addr })).toEqual(denied(EgressRule.TO_LOCALHOST));
    expect(decide(audit(), { host: 'evil.test', resolvedAddress: addr })).toEqual(denied(EgressRule.TO_LOCALHOST));
  });

  test.each(['169.254.169.254', 'fd00:ec2::254'])(
    'a destination resolving to link-local / instance metadata (%s) is still denied',
    (addr) => {
      expect(decide(audit(), { host: 'example.com', resolvedAddress: addr })).toEqual(denied(EgressRule.TO_LINK_LOCAL));
      expect(decide(audit(), { host: 'evil.test', resolvedAddress: addr })).toEqual(denied(EgressRule.TO_LINK_LOCAL));
    },
  );

  test('the audit-mode warning says what is logged and allowed and which guardrails still deny', () => {
    expect(audit().warnings).toHaveLength(1);
    const warning = audit().warnings[0];
    expect(warning).toMatch(/^The egress policy is in AUDIT mode: /);
    // Logged and allowed: every policy rule.
    for (const logged of [
      'source',
      'endpoint',
      'port',
      'plain HTTP',
      'IP-literal destination',
      'not on the allowlist',
      'not TLS',
    ]) {
      expect(warning.split('The guardrails still deny')[0]).toContain(logged);
    }
    expect(warning).toContain('is allowed and logged with that rule');
    // Still denied: every guardrail.
    const stillDenied = warning.split('The guardrails still deny')[1];
    for (const guardrail of [
      'loopback',
      'link-local',
      'private or special-purpose space not in allowedPrivateCidrs',
      'provider VPC',
      'not a valid address',
    ]) {
      expect(stillDenied).toContain(guardrail);
    }
    expect(warning).not.toContain('every destination is allowed');
  });

  test('enforce mode adds no audit warning', () => {
    expect(policy(['example.com']).warnings).toEqual([]);
  });
});

describe('rule order (first match decides)', () => {
  const strict = () =>
    policy(['example.com'], { sourceCidrs: ['10.0.0.0/8'], allowedEndpointIds: [ENDPOINT_A], allowPlainHttp: false });

  test('the source rule comes before the endpoint rule', () => {
    expect(decide(strict(), { host: 'evil.test', sourceAddress: '192.0.2.1', endpointId: ENDPOINT_B })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('the source rule comes before the destination rule', () => {
    expect(decide(strict(), { host: 'evil.test', sourceAddress: '192.0.2.1', endpointId: ENDPOINT_A })).toEqual(
      denied(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });

  test('the endpoint rule comes before the port rule', () => {
    expect(
      decide(strict(), { host: 'example.com', port: 22, sourceAddress: '10.0.0.1', endpointId: ENDPOINT_B }),
    ).toEqual(denied(EgressRule.ENDPOINT_NOT_ALLOWED));
  });

  test('the port rule comes before the destination rule', () => {
    expect(
      decide(strict(), { host: 'evil.test', port: 22, sourceAddress: '10.0.0.1', endpointId: ENDPOINT_A }),
    ).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
  });

  test('the port rule comes before the IP-literal rule', () => {
    expect(decide(policy(['example.com']), { host: '192.0.2.1', port: 22 })).toEqual(
      denied(EgressRule.PORT_NOT_ALLOWED),
    );
  });

  test('the plain-HTTP rule comes before the destination rule', () => {
    expect(decide(policy(['example.com']), { host: 'evil.test', method: 'GET' })).toEqual(
      denied(EgressRule.PLAIN_HTTP_NOT_ALLOWED),
    );
  });

  test('the IP-literal rule comes before the destination rule', () => {
    expect(decide(policy(['example.com']), '10.0.0.1')).toEqual(denied(EgressRule.IP_LITERAL));
  });

  test('in enforce mode the destination rule comes before the resolved-address rules (denied names are never resolved)', () => {
    expect(decide(policy(['example.com']), { host: 'evil.test', resolvedAddress: '127.0.0.1' })).toEqual(
      denied(EgressRule.DESTINATION_NOT_ALLOWED),
    );
  });

  test('the resolved-address rules come before the TLS rules', () => {
    const p = policy(['example.com']);
    expect(decide(p, { host: 'example.com', resolvedAddress: '169.254.169.254', sni: 'evil.test', tls: true })).toEqual(
      denied(EgressRule.TO_LINK_LOCAL),
    );
    expect(decide(p, { host: 'example.com', resolvedAddress: '127.0.0.1', tls: false })).toEqual(
      denied(EgressRule.TO_LOCALHOST),
    );
  });

  test('the not-TLS rule comes before the SNI rule', () => {
    expect(decide(policy(['example.com']), { host: 'example.com', tls: false, sni: 'evil.test' })).toEqual(
      denied(EgressRule.NOT_TLS),
    );
  });

  test('in audit mode the resolved-address rules come before every other rule', () => {
    const p = policy(['example.com'], { mode: EgressMode.AUDIT, sourceCidrs: ['10.0.0.0/8'] });
    expect(decide(p, { host: 'evil.test', sourceAddress: '192.0.2.1', resolvedAddress: '127.0.0.1' })).toEqual(
      denied(EgressRule.TO_LOCALHOST),
    );
  });

  test('in audit mode the audited rule is the first one enforce mode would apply', () => {
    const p = policy(['example.com'], { mode: EgressMode.AUDIT, sourceCidrs: ['10.0.0.0/8'] });
    expect(decide(p, { host: 'evil.test', port: 22, sourceAddress: '192.0.2.1' })).toEqual(
      audited(EgressRule.SOURCE_NOT_ALLOWED),
    );
  });
});

describe('resolved address', () => {
  test.each(['127.0.0.1', '127.255.255.254', '0.0.0.0', '::1', '::', '::ffff:127.0.0.1'])(
    'an allowed host resolving to %s is denied by to-localhost',
    (addr) => {
      expect(decide(policy(['example.com']), { host: 'example.com', resolvedAddress: addr })).toEqual(
        denied(EgressRule.TO_LOCALHOST),
      );
    },
  );

  test.each([
    '169.254.169.254',
    '169.254.170.2',
    '169.254.169.253',
    '169.254.0.1',
    'fe80::1',
    'fd00:ec2::254',
    'fd00:ec2::23',
    '::ffff:169.254.169.254',
  ])('an allowed host resolving to %s is denied by to-link-local', (addr) => {
    expect(decide(policy(['example.com']), { host: 'example.com', resolvedAddress: addr })).toEqual(
      denied(EgressRule.TO_LINK_LOCAL),
    );
  });

  test('an allowed host resolving to a public address is allowed', () => {
    const p = policy(['example.com']);
    expect(decide(p, { host: 'example.com', resolvedAddress: '52.94.0.10' })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', resolvedAddress: '2600:1f18::10' })).toEqual(ALLOWED);
  });

  test('a resolved address that is not an IP address is an error naming the field', () => {
    expect(() => decide(policy(['example.com']), { host: 'example.com', resolvedAddress: 'unknown' })).toThrow(
      'Invalid request resolvedAddress "unknown": not an IPv4 or IPv6 address',
    );
    expect(() =>
      decide(policy(['example.com']), { host: 'example.com', resolvedAddresses: ['52.94.0.10', '10.0.0.300'] }),
    ).toThrow('Invalid request resolvedAddresses entry "10.0.0.300": not an IPv4 or IPv6 address');
  });
});

describe('bad input fails at construction, naming the value and the rule', () => {
  test('an empty allowlist in enforce mode is rejected', () => {
    expect(errorFor({ allowedDomains: [] })).toBe(
      'Invalid allowedDomains []: with no allowed domains (and no consumers) enforce mode would deny everything. ' +
        'List the destinations to allow, or use EgressMode.AUDIT to discover them.',
    );
  });

  test('a missing allowlist in enforce mode is rejected', () => {
    expect(errorFor({ mode: EgressMode.ENFORCE })).toContain('Invalid allowedDomains []: with no allowed domains');
  });

  test.each([
    ['192.0.2.1', 'is an IP address'],
    ['2130706433', 'is an IP address'],
    ['0x7f000001', 'is an IP address'],
    ['::1', 'is an IP address'],
    ['[2001:db8::1]', 'is an IP address'],
    ['.10.0.0.1', 'is an IP address'],
    ['*.10.0.0.1', 'is an IP address'],
  ])('an IP literal (%s) is rejected', (value, rule) => {
    const msg = errorFor({ allowedDomains: [value] });
    expect(msg).toContain(`'${value}'`);
    expect(msg).toContain(rule);
  });

  test.each(['https://example.com', 'http://example.com/', 'HTTPS://EXAMPLE.COM'])(
    'a URL (%s) is rejected',
    (value) => {
      const msg = errorFor({ allowedDomains: [value] });
      expect(msg).toContain(`'${value}'`);
      expect(msg).toContain('is a URL');
    },
  );

  test.each(['example.com:443', 'example.com:', '*.example.com:8443'])(
    'a port in a domain (%s) is rejected',
    (value) => {
      const msg = errorFor({ allowedDomains: [value] });
      expect(msg).toContain(`'${value}'`);
      expect(msg).toContain('contains a port');
    },
  );

  test.each(['example.com/path', 'example.com/'])('a path in a domain (%s) is rejected', (value) => {
    const msg = errorFor({ allowedDomains: [value] });
    expect(msg).toContain(`'${value}'`);
    expect(msg).toContain('path');
  });

  test('an underscore is rejected as an invalid character', () => {
    const msg = errorFor({ allowedDomains: ['my_host.example.com'] });
    expect(msg).toContain("'my_host.example.com'");
    expect(msg).toContain("the character '_' is not allowed");
  });

  test.each(['exa mple.com', 'example.com\nevil.test', 'example.com\tevil.test'])(
    'whitespace inside a domain (%j) is rejected',
    (value) => {
      const msg = errorFor({ allowedDomains: [value] });
      expect(msg).toContain(`'${value}'`);
      expect(msg).toContain('whitespace');
    },
  );

  test.each(['exa!mple.com', 'example.com;', 'exa"mple.com', 'example.com#'])(
    'another invalid character (%s) is rejected',
    (value) => {
      const msg = errorFor({ allowedDomains: [value] });
      expect(msg).toContain(`'${value}'`);
      expect(msg).toContain('is not allowed in a host name');
    },
  );

  test('a label starting or ending with a hyphen is rejected', () => {
    const msg = errorFor({ allowedDomains: ['-api.example.com'] });
    expect(msg).toContain("'-api.example.com'");
    expect(msg).toContain("starts or ends with '-'");
  });

  test('an empty label is rejected', () => {
    const msg = errorFor({ allowedDomains: ['api..example.com'] });
    expect(msg).toContain("'api..example.com'");
    expect(msg).toContain('empty label');
  });

  test('an empty entry is rejected', () => {
    const msg = errorFor({ allowedDomains: ['example.com', ''] });
    expect(msg).toContain("''");
    expect(msg).toContain('it is empty');
  });

  test('a label of 64 characters is rejected', () => {
    const label = 'a'.repeat(64);
    const msg = errorFor({ allowedDomains: [`${label}.example.com`] });
    expect(msg).toContain(`'${label}.example.com'`);
    expect(msg).toContain('64 characters long; DNS allows at most 63');
  });

  test('a label of 63 characters is accepted', () => {
    expect(policy([`${'a'.repeat(63)}.example.com`]).domains).toEqual([`${'a'.repeat(63)}.example.com`]);
  });

  test('a name of 254 characters is rejected', () => {
    const name = [62, 63, 63, 63].map((n) => 'a'.repeat(n)).join('.'); // 62+63+63+63+3 dots = 254
    expect(name).toHaveLength(254);
    const msg = errorFor({ allowedDomains: [name] });
    expect(msg).toContain(`'${name}'`);
    expect(msg).toContain('254 characters long; DNS allows at most 253');
  });

  test('a name of 253 characters is accepted, also with a trailing dot', () => {
    const name = [61, 63, 63, 63].map((n) => 'a'.repeat(n)).join('.');
    expect(name).toHaveLength(253);
    expect(policy([`${name}.`]).domains).toEqual([name]);
  });

  test('a non-ASCII name with no punycode form is rejected without a suggestion', () => {
    expect(errorFor({ allowedDomains: ['xn--\u00fc.com'] })).toBe(
      "Invalid allowedDomains entry 'xn--\u00fc.com': non-ASCII names must be given in punycode",
    );
  });

  test('a non-ASCII name is rejected with its punycode form', () => {
    const msg = errorFor({ allowedDomains: ['bücher.example'] });
    expect(msg).toContain("'bücher.example'");
    expect(msg).toContain('punycode');
    expect(msg).toContain("'xn--bcher-kva.example'");
  });

  test('a non-ASCII wildcard entry is rejected with the punycode form of the whole entry', () => {
    const msg = errorFor({ allowedDomains: ['.Bücher.example'] });
    expect(msg).toContain("'.Bücher.example'");
    expect(msg).toContain("'.xn--bcher-kva.example'");
  });

  test('the punycode form of a name is accepted', () => {
    expect(decide(policy(['xn--bcher-kva.example']), 'xn--bcher-kva.example')).toEqual(ALLOWED);
  });

  test.each(['api.*.example.com', 'api*.example.com', '*example.com', '**.example.com', 'example.*'])(
    'a wildcard anywhere but the whole first label (%s) is rejected',
    (value) => {
      const msg = errorFor({ allowedDomains: [value] });
      expect(msg).toContain(`'${value}'`);
      expect(msg).toContain("a wildcard is only allowed as the whole first label ('*.example.com')");
    },
  );

  test.each(['*.', '.', '*'])('a wildcard without a name (%s) is rejected', (value) => {
    const msg = errorFor({ allowedDomains: [value] });
    expect(msg).toContain(`'${value}'`);
  });

  test('a wildcard with nothing after it names that rule', () => {
    expect(errorFor({ allowedDomains: ['*.'] })).toBe(
      "Invalid allowedDomains entry '*.': it has no name after the wildcard",
    );
  });

  test('surrounding whitespace of an entry is dropped', () => {
    expect(policy([' example.com ', '\t.wild.test\n']).domains).toEqual(['.wild.test', 'example.com']);
  });

  test.each(['host.a1', 'host.1a', 'a1b.x9', 'x0.test'])(
    'a name whose last label mixes letters and digits (%s) is a name, not an IP address',
    (name) => {
      expect(decide(policy([name]), name)).toEqual(ALLOWED);
    },
  );

  test.each([
    ['example.com/x://y', 'contains a path or slash'],
    ['example.com:1:2', 'is an IP address'],
    [':example.com', 'is an IP address'],
  ])('%s is reported by its first broken rule: %s', (value, rule) => {
    expect(errorFor({ allowedDomains: [value] })).toContain(rule);
  });

  test.each([
    ['not-an-ip/8', "'not-an-ip' is not an IPv4 or IPv6 address"],
    ['10.0.0.256/32', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.0', 'needs a prefix length'],
    ['10.0.0.0/', 'the prefix length must be 0-32'],
    ['10.0.0.0/abc', 'the prefix length must be 0-32'],
    ['10.0.0.0/33', 'the prefix length must be 0-32'],
    ['10.0.0.0/-1', 'the prefix length must be 0-32'],
    ['2001:db8::/129', 'the prefix length must be 0-128'],
  ])('an invalid source CIDR (%s) is rejected', (value, rule) => {
    const msg = errorFor({ allowedDomains: ['example.com'], sourceCidrs: [value] });
    expect(msg).toContain(`Invalid sourceCidrs entry '${value}': `);
    expect(msg).toContain(rule);
  });

  test.each([
    ['10.0.0.1/24', '10.0.0.0/24'],
    ['192.168.1.1/16', '192.168.0.0/16'],
    ['2001:db8::1/32', '2001:db8::/32'],
  ])('a CIDR with host bits set (%s) is rejected and the network (%s) suggested', (value, network) => {
    const msg = errorFor({ allowedDomains: ['example.com'], sourceCidrs: [value] });
    expect(msg).toContain(`'${value}'`);
    expect(msg).toContain('host bits set');
    expect(msg).toContain(`did you mean '${network}'`);
  });

  test.each([0, 65536, 1.5, -443, Number.NaN])('port %p is rejected', (port) => {
    const msg = errorFor({ allowedDomains: ['example.com'], ports: [443, port] });
    expect(msg).toBe(`Invalid ports entry ${port}: a TCP port is a whole number from 1 to 65535`);
  });

  test('ports 1 and 65535 are accepted', () => {
    expect(policy(['example.com'], { ports: [65535, 1] }).ports).toEqual([1, 65535]);
  });

  test('an empty port list is rejected', () => {
    expect(errorFor({ allowedDomains: ['example.com'], ports: [] })).toBe(
      'Invalid ports []: give at least one port (the default is [443])',
    );
  });

  test.each([
    'vpce-123',
    'vpce-0123456789ABCDEF0',
    'vpce-0123456789abcdef',
    'vpce-0123456789abcdef01',
    'vpce-svc-0123456789abcdef0',
    'vpc-0123456789abcdef0',
    'vpce-0123456789abcdeg0',
    '0123456789abcdef0',
    '',
  ])('a malformed endpoint ID (%j) is rejected', (value) => {
    const msg = errorFor({ allowedDomains: ['example.com'], allowedEndpointIds: [value] });
    expect(msg).toBe(
      `Invalid allowedEndpointIds entry '${value}': a VPC endpoint ID is 'vpce-' followed by 8 or 17 lower-case hex digits (e.g. 'vpce-0123456789abcdef0')`,
    );
  });

  test('an empty sourceCidrs list is rejected', () => {
    expect(errorFor({ allowedDomains: ['example.com'], sourceCidrs: [] })).toBe(
      'Invalid sourceCidrs []: an empty list would deny every client; omit it to allow any source',
    );
  });

  test('an empty allowedEndpointIds list is rejected', () => {
    expect(errorFor({ allowedDomains: ['example.com'], allowedEndpointIds: [] })).toBe(
      'Invalid allowedEndpointIds []: an empty list would deny every client; omit it to allow any endpoint',
    );
  });

  test('an unknown mode is rejected', () => {
    expect(errorFor({ allowedDomains: ['example.com'], mode: 'permissive' as EgressMode })).toBe(
      "Invalid mode 'permissive': expected one of enforce, audit",
    );
  });
});

describe('duplicates and covered entries are dropped with a warning', () => {
  test('an allowlist without duplicates or covered entries has no warnings', () => {
    expect(policy(['example.com', '.wild.test', '*.star.test', 'star.test']).warnings).toEqual([]);
  });

  test('an exact duplicate is dropped with a warning naming both entries', () => {
    const p = policy(['example.com', 'example.com']);
    expect(p.domains).toEqual(['example.com']);
    expect(p.warnings).toEqual(["'example.com' is a duplicate of 'example.com' and was dropped"]);
  });

  test('entries that differ only in case or a trailing dot are duplicates', () => {
    const p = policy(['example.com', 'EXAMPLE.com', 'example.com.']);
    expect(p.domains).toEqual(['example.com']);
    expect(p.warnings).toEqual([
      "'EXAMPLE.com' is a duplicate of 'example.com' and was dropped",
      "'example.com.' is a duplicate of 'example.com' and was dropped",
    ]);
  });

  test('a duplicate wildcard is dropped with a warning', () => {
    const p = policy(['*.example.com', '*.Example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.warnings).toEqual(["'*.Example.com' is a duplicate of '*.example.com' and was dropped"]);
  });

  test('a name under a .wildcard is dropped with a warning naming the wildcard', () => {
    const p = policy(['.example.com', 'api.example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.warnings).toEqual(["'api.example.com' is already covered by '.example.com' and was dropped"]);
  });

  test('a name under a *.wildcard is dropped with a warning naming the wildcard', () => {
    const p = policy(['api.example.com', '*.example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.subdomainOnlyNames).toEqual(['example.com']);
    expect(p.warnings).toEqual(["'api.example.com' is already covered by '*.example.com' and was dropped"]);
  });

  test('a narrower wildcard under a wider wildcard is dropped with a warning', () => {
    const p = policy(['.example.com', '*.api.example.com', '.deep.api.example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.warnings).toEqual([
      "'*.api.example.com' is already covered by '.example.com' and was dropped",
      "'.deep.api.example.com' is already covered by '.example.com' and was dropped",
    ]);
  });

  test('the exact apex is dropped with a warning when .apex is listed', () => {
    const p = policy(['.example.com', 'example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.warnings).toEqual(["'example.com' is already covered by '.example.com' and was dropped"]);
  });

  test('the exact apex listed before .apex is dropped with a warning too', () => {
    const p = policy(['example.com', '.example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.warnings).toEqual(["'example.com' is already covered by '.example.com' and was dropped"]);
  });

  test('*.apex is dropped with a warning when .apex is listed', () => {
    const p = policy(['*.example.com', '.example.com']);
    expect(p.domains).toEqual(['.example.com']);
    expect(p.subdomainOnlyNames).toEqual([]);
    expect(p.warnings).toEqual(["'*.example.com' is already covered by '.example.com' and was dropped"]);
    expect(decide(p, 'example.com')).toEqual(ALLOWED);
  });

  test('*.apex and the exact apex do not cover each other and raise no warning', () => {
    expect(policy(['*.example.com', 'example.com']).warnings).toEqual([]);
  });

  test('a sibling of a wildcard is not covered by it', () => {
    const p = policy(['.a.example.com', 'b.example.com']);
    expect(p.domains).toEqual(['.a.example.com', 'b.example.com']);
    expect(p.warnings).toEqual([]);
  });

  test('the domains list is sorted', () => {
    expect(policy(['c.test', 'a.test', '.b.test']).domains).toEqual(['.b.test', 'a.test', 'c.test']);
  });
});

describe('wildcards over public suffixes', () => {
  test.each([
    ['.com', 'com'],
    ['*.com', 'com'],
    ['.co.uk', 'co.uk'],
    ['*.Co.UK', 'co.uk'],
    ['.kawasaki.jp', '*.kawasaki.jp'],
    // Every child of kawasaki.jp is an ICANN public suffix (rule *.kawasaki.jp).
    ['.foo.kawasaki.jp', '*.kawasaki.jp'],
  ])('%s (ICANN section) is an error naming the entry and the suffix', (entry, suffix) => {
    const msg = errorFor({ allowedDomains: ['example.org', entry] });
    expect(msg).toContain(`Invalid allowedDomains entry '${entry}'`);
    expect(msg).toContain(`covers the public suffix '${suffix}'`);
    expect(msg).toBe(
      `Invalid allowedDomains entry '${entry}': the wildcard covers the public suffix '${suffix}' ` +
        '(ICANN section of the Public Suffix List), where anyone can register a name and receive data through the proxy. ' +
        'List exact host names or a wildcard under a domain you control.',
    );
  });

  test.each([
    ['.amazonaws.com', 'amazonaws.com'],
    ['*.amazonaws.com', 'amazonaws.com'],
    ['*.s3.amazonaws.com', 's3.amazonaws.com'],
    ['.compute.amazonaws.com', '*.compute.amazonaws.com'],
    // Every child of compute.amazonaws.com is a public suffix (PSL rule *.compute.amazonaws.com).
    ['.eu-west-1.compute.amazonaws.com', '*.compute.amazonaws.com'],
  ])('%s (private section) warns, naming the suffix and the narrower AwsEndpoints presets', (entry, name) => {
    const p = policy([entry]);
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toContain(`The wildcard '${entry}' covers the public suffix '`);
    expect(p.warnings[0]).toContain('private section of the Public Suffix List');
    expect(p.warnings[0]).toContain('anyone can get a name under it');
    expect(p.warnings[0]).toContain('AwsEndpoints.hostnames');
    expect(p.warnings[0]).toContain('s3Buckets and ecrAccountIds');
    if (name.startsWith('*.')) expect(p.warnings[0]).toContain(`'${name}'`);
  });

  test.each([
    '.example.com',
    '*.example.com',
    '.my-bucket.s3.amazonaws.com',
    '*.ec2-192-0-2-1.eu-west-1.compute.amazonaws.com',
    // The PSL exception !city.kawasaki.jp makes it registrable.
    '.city.kawasaki.jp',
  ])('%s raises no public-suffix warning or error', (entry) => {
    expect(policy([entry]).warnings).toEqual([]);
  });

  test('an exact public suffix (not a wildcard) raises no warning', () => {
    expect(policy(['s3.amazonaws.com', 'amazonaws.com', 'com']).warnings).toEqual([]);
  });

  test('the policy still allows what a private-section wildcard lists', () => {
    expect(decide(policy(['.amazonaws.com']), 'anything.amazonaws.com')).toEqual(ALLOWED);
  });
});

describe('edge cases found in review', () => {
  test('a requested host over 253 characters is an error; 253 characters are judged', () => {
    const p = policy(['.example.com']);
    const name = (n: number) => `${'a'.repeat(n - '.example.com'.length)}.example.com`;
    expect(name(254)).toHaveLength(254);
    expect(() => p.evaluate({ host: name(254) })).toThrow('it is 254 characters long; a DNS name has at most 253');
    expect(p.evaluate({ host: `${name(253)}.` })).toEqual(ALLOWED);
  });

  test('a non-numeric port in a domain is reported as a port, not as an IP address', () => {
    expect(() => new EgressPolicy({ allowedDomains: ['example.com:abc'] })).toThrow(
      /Invalid allowedDomains entry 'example\.com:abc': it contains a port/,
    );
  });
});

describe('private destinations', () => {
  const PUBLIC = '52.94.0.10';

  test.each([
    ['RFC 1918 10/8', '10.1.2.3'],
    ['RFC 1918 172.16/12', '172.20.0.1'],
    ['RFC 1918 192.168/16', '192.168.1.1'],
    ['shared address space', '100.64.0.1'],
    ['benchmarking', '198.18.0.1'],
    ['IETF protocol assignments', '192.0.0.8'],
    ['documentation', '203.0.113.5'],
    ['multicast', '239.1.1.1'],
    ['reserved', '240.0.0.1'],
    ['limited broadcast', '255.255.255.255'],
    ['IPv6 unique-local', 'fd12::1'],
    ['IPv6 documentation', '2001:db8::1'],
    ['IPv4-mapped RFC 1918', '::ffff:10.1.2.3'],
    ['IPv4-compatible RFC 1918', '::10.1.2.3'],
    ['NAT64 of RFC 1918', '64:ff9b::10.1.2.3'],
  ])('an allowlisted name resolving to %s (%s) is denied by to-private, in every mode', (_what, address) => {
    for (const mode of [EgressMode.ENFORCE, EgressMode.AUDIT]) {
      const p = policy(['example.com'], { mode });
      expect(decide(p, { host: 'example.com', resolvedAddresses: [address] })).toEqual(denied(EgressRule.TO_PRIVATE));
    }
  });

  test('one private answer among public ones is enough (two A records; A and AAAA)', () => {
    const p = policy(['example.com']);
    expect(decide(p, { host: 'example.com', resolvedAddresses: [PUBLIC, '10.0.0.1'] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
    expect(decide(p, { host: 'example.com', resolvedAddresses: [PUBLIC, 'fd00::1'] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['10.0.0.1', '2600:1f18::1'] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
    expect(decide(p, { host: 'example.com', resolvedAddresses: [PUBLIC, '2600:1f18::1'] })).toEqual(ALLOWED);
  });

  test('resolvedAddress and resolvedAddresses are checked together', () => {
    const p = policy(['example.com']);
    expect(decide(p, { host: 'example.com', resolvedAddress: PUBLIC, resolvedAddresses: ['10.0.0.1'] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
    expect(decide(p, { host: 'example.com', resolvedAddress: '10.0.0.1', resolvedAddresses: [PUBLIC] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
  });

  test('the address rules come in order: loopback, then link-local, then private', () => {
    const p = policy(['example.com']);
    const all = ['10.0.0.1', '169.254.169.254', '127.0.0.1'];
    expect(decide(p, { host: 'example.com', resolvedAddresses: all })).toEqual(denied(EgressRule.TO_LOCALHOST));
    expect(decide(p, { host: 'example.com', resolvedAddresses: all.slice(0, 2) })).toEqual(
      denied(EgressRule.TO_LINK_LOCAL),
    );
  });

  test('allowedPrivateCidrs opens exactly its ranges', () => {
    const p = policy(['example.com'], { allowedPrivateCidrs: ['10.1.0.0/16', 'fd00:1::/64'] });
    expect(p.allowedPrivateCidrs).toEqual(['10.1.0.0/16', 'fd00:1::/64']);
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['10.1.2.3'] })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['fd00:1::5'] })).toEqual(ALLOWED);
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['10.2.0.1'] })).toEqual(denied(EgressRule.TO_PRIVATE));
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['10.0.255.255'] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['fd00:2::5'] })).toEqual(denied(EgressRule.TO_PRIVATE));
    expect(p.deniedPrivateCidrs).toContain('10.0.0.0/16');
    expect(p.deniedPrivateCidrs).toContain('10.2.0.0/15');
    expect(p.deniedPrivateCidrs.some((c) => c.startsWith('10.1.'))).toBe(false);
  });

  test('a name with one answer in an opted-in range and another private answer is denied (the any-address rule)', () => {
    const p = policy(['example.com'], { allowedPrivateCidrs: ['10.1.0.0/16'] });
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['10.1.0.5', '172.16.0.5'] })).toEqual(
      denied(EgressRule.TO_PRIVATE),
    );
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['10.1.0.5', PUBLIC] })).toEqual(ALLOWED);
  });

  test('loopback and link-local stay denied inside an opted-in range', () => {
    const p = policy(['example.com'], { allowedPrivateCidrs: ['fd00::/8'] });
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['fd00:ec2::254'] })).toEqual(
      denied(EgressRule.TO_LINK_LOCAL),
    );
    expect(decide(p, { host: 'example.com', resolvedAddresses: ['fd00:1::1'] })).toEqual(ALLOWED);
  });

  test('by default every private range is denied and nothing is opened', () => {
    const p = policy(['example.com']);
    expect(p.allowedPrivateCidrs).toEqual([]);
    expect(p.deniedPrivateCidrs).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', 'fc00::/7']));
  });

  test.each([
    ['8.8.8.0/24', 'is not (entirely) private or special-purpose address space'],
    ['169.254.169.254/32', 'loopback and link-local addresses'],
    ['127.0.0.0/8', 'loopback and link-local addresses'],
    ['10.0.0.0', 'needs a prefix length'],
  ])('allowedPrivateCidrs %s is rejected at construction: %s', (entry, rule) => {
    const msg = errorFor({ allowedDomains: ['example.com'], allowedPrivateCidrs: [entry] });
    expect(msg).toContain(`Invalid allowedPrivateCidrs entry '${entry}'`);
    expect(msg).toContain(rule);
  });
});

describe('evaluate() as a user calls it: an IP literal is its own address', () => {
  const audit = () => policy(['example.com'], { mode: EgressMode.AUDIT });

  test.each([
    ['dotted', '169.254.169.254', EgressRule.TO_LINK_LOCAL],
    ['integer', '2851995902', EgressRule.TO_LINK_LOCAL],
    ['hex', '0xa9fea9fe', EgressRule.TO_LINK_LOCAL],
    ['octal', '0251.0376.0251.0376', EgressRule.TO_LINK_LOCAL],
    ['IPv4-mapped IPv6', '[::ffff:169.254.169.254]', EgressRule.TO_LINK_LOCAL],
    ['IPv6 instance metadata', '[fd00:ec2::254]', EgressRule.TO_LINK_LOCAL],
    ['loopback', '127.0.0.1', EgressRule.TO_LOCALHOST],
    ['shortened loopback', '127.1', EgressRule.TO_LOCALHOST],
    ['bracketed IPv6 loopback', '[::1]', EgressRule.TO_LOCALHOST],
    ['RFC 1918', '10.1.2.3', EgressRule.TO_PRIVATE],
    ['IPv4-mapped RFC 1918', '::ffff:10.1.2.3', EgressRule.TO_PRIVATE],
  ])('in audit mode a %s literal (%s) is denied by its guardrail', (_what, host, rule) => {
    expect(decide(audit(), host)).toEqual(denied(rule));
    expect(decide(audit(), { host, method: 'GET', port: 80 })).toEqual(denied(rule));
    // In enforce mode the IP-literal rule comes first.
    expect(decide(policy(['example.com']), host)).toEqual(denied(EgressRule.IP_LITERAL));
  });

  test('in audit mode a public IP literal is allowed and audited as ip-literal', () => {
    expect(decide(audit(), '52.94.0.10')).toEqual(audited(EgressRule.IP_LITERAL));
    expect(decide(audit(), '[2600:1f18::1]')).toEqual(audited(EgressRule.IP_LITERAL));
  });

  test.each(['999.1.1.1', '1.2.3.4.5', 'example.com.1', '0x100000000', '0', '0.0.0.0', '[::]', '[1.2.3.4]'])(
    'a host shaped like an IP literal that Squid cannot parse (%s) is denied in audit mode too',
    (host) => {
      expect(decide(audit(), host)).toEqual(denied(EgressRule.INVALID_IP_LITERAL));
      expect(decide(policy(['example.com']), host)).toEqual(denied(EgressRule.IP_LITERAL));
    },
  );

  test('an IP-literal host may carry its own address as resolved address, no other', () => {
    const p = policy(['example.com']);
    expect(decide(p, { host: '10.1.2.3', resolvedAddress: '10.1.2.3' })).toEqual(denied(EgressRule.IP_LITERAL));
    expect(decide(p, { host: '0x0a010203', resolvedAddresses: ['::ffff:10.1.2.3'] })).toEqual(
      denied(EgressRule.IP_LITERAL),
    );
    expect(() => decide(p, { host: '10.1.2.3', resolvedAddresses: ['52.94.0.10'] })).toThrow(
      `Invalid request resolvedAddresses "52.94.0.10": the host '10.1.2.3' is an IP literal: it is its own address`,
    );
  });

  test('resolved addresses of a public literal do not make it private', () => {
    expect(decide(audit(), { host: '52.94.0.10', resolvedAddresses: ['52.94.0.10'] })).toEqual(
      audited(EgressRule.IP_LITERAL),
    );
  });
});

describe('malformed requests throw an error naming the field', () => {
  const p = () => policy(['example.com']);

  test.each([0, 70000, -1, 1.5, Number.NaN])('port %p', (port) => {
    expect(() => decide(p(), { host: 'example.com', port })).toThrow(
      `Invalid request port ${JSON.stringify(port)}: ports are whole numbers from 1 to 65535`,
    );
  });

  test('ports 1 and 65535 are judged', () => {
    expect(decide(p(), { host: 'example.com', port: 1 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
    expect(decide(p(), { host: 'example.com', port: 65535 })).toEqual(denied(EgressRule.PORT_NOT_ALLOWED));
  });

  test.each(['', 'GET ', 'CON NECT', 'GET/1'])('method %j', (method) => {
    expect(() => decide(p(), { host: 'example.com', method })).toThrow(
      `Invalid request method ${JSON.stringify(method)}: expected an HTTP method such as CONNECT or GET`,
    );
  });

  test.each(['exa mple.com', 'example.com\n', 'a..example.com', '.example.com', 'user@example.com', 'example.com/x'])(
    'host %j',
    (host) => {
      expect(() => decide(p(), host)).toThrow(`Invalid request host '${host}'`);
    },
  );

  test('an endpoint ID is judged as the PROXY header carried it, even when malformed', () => {
    const q = policy(['example.com'], { allowedEndpointIds: [ENDPOINT_A] });
    expect(decide(q, { host: 'example.com', endpointId: `${ENDPOINT_A}0` })).toEqual(
      denied(EgressRule.ENDPOINT_NOT_ALLOWED),
    );
    expect(decide(q, { host: 'example.com', endpointId: `x${ENDPOINT_A}` })).toEqual(
      denied(EgressRule.ENDPOINT_NOT_ALLOWED),
    );
  });
});

describe('label boundaries, long names and anchors (each one a deny that must not become an allow)', () => {
  test('xexample.com does not match .example.com, *.example.com or example.com', () => {
    for (const entry of ['.example.com', '*.example.com', 'example.com']) {
      expect(decide(policy([entry]), 'xexample.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
      expect(decide(policy([entry]), 'a.xexample.com')).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
    }
  });

  test('an SNI xexample.com does not match .example.com', () => {
    expect(decide(policy(['.example.com']), { host: 'api.example.com', sni: 'xexample.com' })).toEqual(
      denied(EgressRule.SNI_NOT_ALLOWED),
    );
  });

  test('an IPv6 source with an embedded IPv4 tail is not the IPv4 source', () => {
    const p = policy(['example.com'], { sourceCidrs: ['10.0.0.0/8'] });
    for (const source of ['1::ffff:10.1.2.3', '2001:db8::10.1.2.3', '::10.1.2.3', '64:ff9b::10.1.2.3']) {
      expect(decide(p, { host: 'example.com', sourceAddress: source })).toEqual(denied(EgressRule.SOURCE_NOT_ALLOWED));
    }
  });

  test.each(['192.0.2.1.', 'host.1', 'host.1.', '.host.1', '*.host.1', 'a.0x1f'])(
    'an allowlist entry ending in a number (%s) is rejected as an IP address',
    (entry) => {
      const msg = errorFor({ allowedDomains: [entry] });
      expect(msg).toContain(`Invalid allowedDomains entry '${entry}'`);
      expect(msg).toContain('is an IP address');
    },
  );

  test.each(['xvpce-0123456789abcdef0', 'vpce-0123456789abcdef0x', 'vpce-vpce-0123abcd'])(
    'an allowedEndpointIds entry with a prefix or suffix (%s) is rejected',
    (id) => {
      expect(errorFor({ allowedDomains: ['example.com'], allowedEndpointIds: [id] })).toContain(
        `Invalid allowedEndpointIds entry '${id}'`,
      );
    },
  );
});
