/**
 * The specification of what the proxy allows, checked three ways for every case, in enforce and
 * in audit mode: the expected outcome written here, `EgressPolicy.evaluate()` called the way a
 * user would (an IP literal is its own address; a name's DNS answers are given as
 * `resolvedAddresses`), and real Squid running the rendered configuration (judged at the
 * upstream: a denied request must never reach it). The access log must hold exactly one line per
 * request or tunnel, naming the rule `evaluate()` gave.
 *
 * Prints `agreement: N/N cases, both modes` and the leak count.
 */
import { makeCertificates, TestCertificates } from './certs';
import { ALLOWED_DOMAINS, CERT_NAMES, dnsRecordsFor, hostsFor } from './fixtures';
import { Lab } from './lab';
import { Ppv2Header, proxyRequest } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { DnsServer, SquidRun, Upstream, UPSTREAM_PLAIN_PORTS, UPSTREAM_TLS_PORTS, waitFor } from './squid-runner';
import { EgressDecision, EgressMode, EgressPolicy, EgressPolicyProps, EgressRequest, EgressRule } from '../../src';

type ConfigName = 'default' | 'plain' | 'ppv2' | 'private' | 'consumers' | 'consumers-only';

/** Configurations whose clients come with a PROXY protocol v2 header (identity from the "NLB"). */
const PPV2_CONFIGS: ConfigName[] = ['ppv2', 'consumers', 'consumers-only'];

/** Rules that deny in audit mode too (the guardrails), written here independently of the chain. */
const GUARDRAILS = new Set<EgressRule>([
  EgressRule.INVALID_IP_LITERAL,
  EgressRule.TO_LOCALHOST,
  EgressRule.TO_LINK_LOCAL,
  EgressRule.TO_PRIVATE,
]);

interface Case {
  readonly config: ConfigName;
  readonly name: string;
  readonly host: string;
  readonly port?: number;
  readonly method?: string;
  /** SNI inside the tunnel; null = none; undefined = the CONNECT host. */
  readonly sni?: string | null;
  /** Non-TLS bytes to send inside the tunnel. */
  readonly raw?: string;
  readonly hostHeader?: string;
  readonly ppv2?: Ppv2Header;
  /**
   * The endpoint ID a user passes to evaluate() when it differs from the header's (a TLV of another
   * subtype carries no endpoint ID); null = none.
   */
  readonly evaluateEndpointId?: string | null;
  /** 'invalid': evaluate() throws and Squid refuses to parse the request (never reached). */
  readonly expect: 'allow' | 'deny' | 'invalid';
  /** The rule that must decide in enforce mode (checked against evaluate() and Squid's access log). */
  readonly rule?: EgressRule;
  /** In audit mode, when it differs from what follows from the enforce expectation. */
  readonly audit?: { readonly expect: 'allow' | 'deny'; readonly rule: EgressRule };
}

const VPCE = 'vpce-0123456789abcdef0';

/** The consumers' endpoints, and the policy that gives each its own destinations. */
const VPCE_A = 'vpce-0aaaaaaaaaaaaaaa1';
const VPCE_B = 'vpce-0bbbbbbbbbbbbbbb2';
const VPCE_C = 'vpce-0ccccccccccccccc3';
const CONSUMERS = [
  { name: 'team-a', endpointIds: [VPCE_A], allowedDomains: ['a-only.consumers.test', '*.a-wild.consumers.test'] },
  { name: 'team-b', endpointIds: [VPCE_B], allowedDomains: ['b-only.consumers.test', 'a-wild.consumers.test'] },
  { name: 'vpn', sourceCidrs: ['10.70.0.0/16'], allowedDomains: ['vpn-only.consumers.test'] },
  { name: 'pinned', endpointIds: [VPCE_C], sourceCidrs: ['10.80.0.0/16'], allowedDomains: ['c-only.consumers.test'] },
];

/**
 * Per-consumer destinations: who (the PROXY header), where, and what must happen. A client gets the
 * shared list plus the lists of the consumers it is; anyone else, including a client whose header
 * carries no, a malformed or an unknown endpoint ID, gets the shared list only.
 */
function consumerCases(): Case[] {
  const who: Record<string, Ppv2Header> = {
    'team-a': { source: '10.50.1.2', endpointId: VPCE_A },
    'team-b': { source: '10.60.1.2', endpointId: VPCE_B },
    vpn: { source: '10.70.1.2' },
    pinned: { source: '10.80.1.2', endpointId: VPCE_C },
    'team-a from the VPN range': { source: '10.70.9.9', endpointId: VPCE_A },
    "pinned's endpoint from another network": { source: '10.81.1.2', endpointId: VPCE_C },
    'an unknown endpoint': { source: '10.90.1.2', endpointId: 'vpce-0fffffffffffffff0' },
    'no endpoint TLV': { source: '10.50.1.2' },
    "team-a's ID in upper case": { source: '10.50.1.2', endpointId: VPCE_A.toUpperCase() },
    "team-a's ID with a suffix": { source: '10.50.1.2', endpointId: `${VPCE_A}0` },
    "team-a's ID with a non-hex suffix": { source: '10.50.1.2', endpointId: `${VPCE_A}z` },
    "team-a's ID with a prefix": { source: '10.50.1.2', endpointId: `x${VPCE_A}` },
    "team-a's ID with spaces and a line break": {
      source: '10.50.1.2',
      endpointId: `${VPCE_A} OK\nOK endpoint=${VPCE_A}`,
    },
    "team-a's ID in a TLV of another subtype": { source: '10.50.1.2', endpointId: VPCE_A, endpointSubtype: 0x02 },
  };
  // Who may reach each destination beyond the shared list.
  const reach: Record<string, string[]> = {
    'a-only.consumers.test': ['team-a', 'team-a from the VPN range'],
    'x.a-wild.consumers.test': ['team-a', 'team-a from the VPN range'],
    'a-wild.consumers.test': ['team-b'],
    'b-only.consumers.test': ['team-b'],
    'vpn-only.consumers.test': ['vpn', 'team-a from the VPN range'],
    'c-only.consumers.test': ['pinned'],
  };
  const out: Case[] = [];
  for (const [client, header] of Object.entries(who)) {
    const evaluateEndpointId = header.endpointSubtype === undefined ? {} : { evaluateEndpointId: null };
    for (const [host, allowed] of Object.entries(reach)) {
      const ok = allowed.includes(client);
      out.push({
        config: 'consumers',
        name: `${client} -> ${host}`,
        host,
        ppv2: header,
        ...evaluateEndpointId,
        expect: ok ? 'allow' : 'deny',
        rule: ok ? EgressRule.ALLOWLISTED : EgressRule.DESTINATION_NOT_ALLOWED,
      });
    }
    out.push({
      config: 'consumers',
      name: `${client} -> the shared list`,
      host: 'exact.allowed.test',
      ppv2: header,
      ...evaluateEndpointId,
      expect: 'allow',
      rule: EgressRule.ALLOWLISTED,
    });
    // With no shared list, only a consumer reaches anything.
    const own = Object.entries(reach).find(([, a]) => a.includes(client))?.[0] ?? 'a-only.consumers.test';
    const ok = reach[own].includes(client);
    out.push({
      config: 'consumers-only',
      name: `no shared list: ${client} -> ${own}`,
      host: own,
      ppv2: header,
      ...evaluateEndpointId,
      expect: ok ? 'allow' : 'deny',
      rule: ok ? EgressRule.ALLOWLISTED : EgressRule.DESTINATION_NOT_ALLOWED,
    });
    out.push({
      config: 'consumers-only',
      name: `no shared list: ${client} -> a name only the shared list of the other config has`,
      host: 'exact.allowed.test',
      ppv2: header,
      ...evaluateEndpointId,
      expect: 'deny',
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
    });
  }
  const a = who['team-a'];
  const b = who['team-b'];
  const tls: Array<[string, Ppv2Header, string, string, boolean]> = [
    ["team-a's destination, team-b's name in the TLS SNI", a, 'a-only.consumers.test', 'b-only.consumers.test', false],
    ['a shared name, the consumer own name in the SNI', b, 'exact.allowed.test', 'b-only.consumers.test', true],
    [
      "team-b's name in the SNI of team-a's tunnel to a shared name",
      a,
      'exact.allowed.test',
      'b-only.consumers.test',
      false,
    ],
    ["team-a's wildcard subdomain, its apex in the SNI", a, 'x.a-wild.consumers.test', 'a-wild.consumers.test', false],
    ["team-b's apex entry, a subdomain in the SNI", b, 'a-wild.consumers.test', 'x.a-wild.consumers.test', false],
    ['a consumer name with a trailing dot in the SNI', a, 'a-only.consumers.test', 'a-only.consumers.test.', false],
    ['a consumer name in upper case in the SNI', a, 'exact.allowed.test', 'A-ONLY.CONSUMERS.TEST', true],
  ];
  for (const [why, header, host, sni, ok] of tls) {
    out.push({
      config: 'consumers',
      name: `TLS: ${why}`,
      host,
      sni,
      ppv2: header,
      expect: ok ? 'allow' : 'deny',
      rule: ok ? EgressRule.ALLOWLISTED : EgressRule.SNI_NOT_ALLOWED,
    });
  }
  out.push({
    config: 'consumers',
    name: 'TLS: a consumer destination without SNI',
    host: 'a-only.consumers.test',
    sni: null,
    ppv2: a,
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  // Plain HTTP (on in this config) and the guardrails apply to consumers as to everyone.
  out.push({
    config: 'consumers',
    name: "plain HTTP: team-a's destination",
    host: 'a-only.consumers.test',
    method: 'GET',
    port: 80,
    ppv2: a,
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'consumers',
    name: "plain HTTP: team-b to team-a's destination",
    host: 'a-only.consumers.test',
    method: 'GET',
    port: 80,
    ppv2: b,
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  out.push({
    config: 'consumers',
    name: 'team-a, a port the policy does not list',
    host: 'a-only.consumers.test',
    port: 8443,
    ppv2: a,
    expect: 'deny',
    rule: EgressRule.PORT_NOT_ALLOWED,
  });
  return out;
}

function cases(lab: Lab): Case[] {
  const up = lab.upstreamAddresses[0];
  const [a, b, c, d] = up.split('.').map(Number);
  const decimal = String(a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d);
  const hex = `0x${[a, b, c, d].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
  const octal = [a, b, c, d].map((x) => `0${x.toString(8)}`).join('.');
  const short = `${a}.${b}.${c * 256 + d}`;
  const ll = lab.linkLocalAddress.split('.').map(Number);
  // Every spelling of an IP literal; the rule that still denies it in audit mode, if any.
  const ipLiterals: Array<[string, string, EgressRule?]> = [
    ['dotted', up],
    ['decimal', decimal],
    ['hex', hex],
    ['octal', octal],
    ['shortened', short],
    ['dotted hex', [a, b, c, d].map((x) => `0x${x.toString(16)}`).join('.')],
    ['bracketed IPv6', `[${lab.ipv6UpstreamAddress}]`],
    ['IPv4-mapped IPv6', `[::ffff:${up}]`],
    ['loopback', '127.0.0.1', EgressRule.TO_LOCALHOST],
    ['shortened loopback', '127.1', EgressRule.TO_LOCALHOST],
    ['bracketed IPv6 loopback', '[::1]', EgressRule.TO_LOCALHOST],
    ['IPv4-mapped loopback', '[::ffff:127.0.0.1]', EgressRule.TO_LOCALHOST],
    ['link-local', lab.linkLocalAddress, EgressRule.TO_LINK_LOCAL],
    [
      'link-local, decimal',
      String(ll[0] * 2 ** 24 + ll[1] * 2 ** 16 + ll[2] * 2 ** 8 + ll[3]),
      EgressRule.TO_LINK_LOCAL,
    ],
    ['link-local, hex', `0x${ll.map((x) => x.toString(16).padStart(2, '0')).join('')}`, EgressRule.TO_LINK_LOCAL],
    ['link-local, IPv4-mapped', `[::ffff:${lab.linkLocalAddress}]`, EgressRule.TO_LINK_LOCAL],
    ['IPv6 instance metadata', '[fd00:ec2::254]', EgressRule.TO_LINK_LOCAL],
  ];
  const out: Case[] = [];
  const auditGuard = (rule?: EgressRule) => (rule ? { audit: { expect: 'deny' as const, rule } } : {});

  // ---- default policy: CONNECT to 443 only, TLS with an allowlisted SNI ----
  const allowNames = [
    'exact.allowed.test',
    'wild.test',
    'a.wild.test',
    'a.b.wild.test',
    'a.star.test',
    'a.b.star.test',
    'sts.us-east-1.amazonaws.com',
  ];
  for (const h of allowNames) {
    out.push({ config: 'default', name: `allowlisted ${h}`, host: h, expect: 'allow', rule: EgressRule.ALLOWLISTED });
  }
  const denyNames: Array<[string, string]> = [
    ['denied.test', 'not listed'],
    ['x.exact.allowed.test', 'subdomain of an exact entry'],
    ['star.test', 'apex of a *. entry'],
    ['notwild.test', 'suffix without a dot boundary'],
    ['evilamazonaws.com', 'suffix trick'],
    ['exact.allowed.test.evil.test', 'allowed name followed by another domain'],
    ['wild.test.evil.test', 'wildcard name followed by another domain'],
    ['sts.us-east-1.amazonaws.com.evil.test', 'AWS name followed by another domain'],
    ['sts.us-west-2.amazonaws.com', 'same service, other region'],
  ];
  for (const [h, why] of denyNames) {
    out.push({
      config: 'default',
      name: `denied: ${why} (${h})`,
      host: h,
      expect: 'deny',
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
    });
  }
  const caseVariants = [
    'EXACT.ALLOWED.TEST',
    'Exact.Allowed.Test',
    'A.WILD.TEST',
    'a.Star.Test',
    'STS.US-EAST-1.AMAZONAWS.COM',
  ];
  for (const h of caseVariants) {
    out.push({ config: 'default', name: `upper case ${h}`, host: h, expect: 'allow', rule: EgressRule.ALLOWLISTED });
  }
  for (const h of ['exact.allowed.test.', 'a.wild.test.', 'wild.test.', 'sts.us-east-1.amazonaws.com.']) {
    out.push({ config: 'default', name: `trailing dot ${h}`, host: h, expect: 'allow', rule: EgressRule.ALLOWLISTED });
  }
  out.push({
    config: 'default',
    name: 'trailing dot does not open a denied name',
    host: 'denied.test.',
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'upper case does not open a subdomain-only apex',
    host: 'STAR.TEST',
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  for (const [kind, host, guard] of ipLiterals) {
    out.push({
      config: 'default',
      name: `IP literal, ${kind} (${host})`,
      host,
      sni: null,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
      ...auditGuard(guard),
    });
  }
  // SNI and tunnel contents.
  out.push({
    config: 'default',
    name: 'allowed CONNECT, denied SNI',
    host: 'exact.allowed.test',
    sni: 'denied.test',
    expect: 'deny',
    rule: EgressRule.SNI_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, SNI of a look-alike',
    host: 'exact.allowed.test',
    sni: 'exact.allowed.test.evil.test',
    expect: 'deny',
    rule: EgressRule.SNI_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, SNI of a subdomain-only apex',
    host: 'a.star.test',
    sni: 'star.test',
    expect: 'deny',
    rule: EgressRule.SNI_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, SNI an IP literal',
    host: 'exact.allowed.test',
    sni: up,
    expect: 'deny',
    rule: EgressRule.SNI_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'denied CONNECT, allowed SNI',
    host: 'denied.test',
    sni: 'exact.allowed.test',
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'IP-literal CONNECT, allowed SNI',
    host: up,
    sni: 'exact.allowed.test',
    expect: 'deny',
    rule: EgressRule.IP_LITERAL,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, other allowed SNI',
    host: 'exact.allowed.test',
    sni: 'a.wild.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, SNI in upper case',
    host: 'exact.allowed.test',
    sni: 'EXACT.ALLOWED.TEST',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, SNI with a trailing dot (RFC 6066 forbids it)',
    host: 'exact.allowed.test',
    sni: 'exact.allowed.test.',
    expect: 'deny',
    rule: EgressRule.SNI_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'allowed CONNECT, TLS without SNI',
    host: 'exact.allowed.test',
    sni: null,
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'default',
    name: 'plain HTTP bytes in an allowed tunnel',
    host: 'exact.allowed.test',
    raw: 'GET / HTTP/1.1\r\nHost: exact.allowed.test\r\n\r\n',
    expect: 'deny',
    rule: EgressRule.NOT_TLS,
  });
  out.push({
    config: 'default',
    name: 'SSH banner in an allowed tunnel',
    host: 'exact.allowed.test',
    raw: 'SSH-2.0-OpenSSH_9.2\r\n',
    expect: 'deny',
    rule: EgressRule.NOT_TLS,
  });
  out.push({
    config: 'default',
    name: 'garbage bytes in an allowed tunnel',
    host: 'exact.allowed.test',
    raw: '\x00\x01\x02\x03garbage\r\n\r\n',
    expect: 'deny',
    rule: EgressRule.NOT_TLS,
  });
  // Ports and methods.
  for (const port of [8443, 80, 22, 25, 65535]) {
    out.push({
      config: 'default',
      name: `CONNECT to port ${port}`,
      host: 'exact.allowed.test',
      port,
      expect: 'deny',
      rule: EgressRule.PORT_NOT_ALLOWED,
    });
  }
  out.push({
    config: 'default',
    name: 'plain HTTP while disabled',
    host: 'exact.allowed.test',
    method: 'GET',
    port: 80,
    expect: 'deny',
    rule: EgressRule.PLAIN_HTTP_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'plain HTTP POST while disabled',
    host: 'exact.allowed.test',
    method: 'POST',
    port: 80,
    expect: 'deny',
    rule: EgressRule.PLAIN_HTTP_NOT_ALLOWED,
  });
  out.push({
    config: 'default',
    name: 'plain HTTP to metadata while disabled',
    host: lab.linkLocalAddress,
    method: 'GET',
    port: 80,
    expect: 'deny',
    rule: EgressRule.PLAIN_HTTP_NOT_ALLOWED,
    audit: { expect: 'deny', rule: EgressRule.TO_LINK_LOCAL },
  });
  // Destinations that resolve to localhost / link-local (DNS rebinding).
  out.push({
    config: 'default',
    name: 'allowlisted name resolving to link-local (metadata)',
    host: 'metadata-rebind.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });
  out.push({
    config: 'default',
    name: 'allowlisted name resolving to loopback',
    host: 'loopback-rebind.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_LOCALHOST,
  });
  out.push({
    config: 'default',
    name: 'allowlisted name over IPv6',
    host: 'v6.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  // A Host header that differs from the CONNECT target does not change the decision.
  out.push({
    config: 'default',
    name: 'CONNECT allowed, Host header denied',
    host: 'exact.allowed.test',
    hostHeader: 'denied.test:443',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'default',
    name: 'CONNECT denied, Host header allowed',
    host: 'denied.test',
    hostHeader: 'exact.allowed.test:443',
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });

  // ---- plain HTTP enabled ----
  for (const h of ['exact.allowed.test', 'a.wild.test', 'A.STAR.TEST', 'wild.test.']) {
    out.push({
      config: 'plain',
      name: `plain GET ${h}`,
      host: h,
      method: 'GET',
      port: 80,
      expect: 'allow',
      rule: EgressRule.ALLOWLISTED,
    });
  }
  for (const h of ['denied.test', 'star.test', 'evilamazonaws.com', 'exact.allowed.test.evil.test']) {
    out.push({
      config: 'plain',
      name: `plain GET denied ${h}`,
      host: h,
      method: 'GET',
      port: 80,
      expect: 'deny',
      rule: EgressRule.DESTINATION_NOT_ALLOWED,
    });
  }
  out.push({
    config: 'plain',
    name: 'plain GET to another port',
    host: 'exact.allowed.test',
    method: 'GET',
    port: 8080,
    expect: 'deny',
    rule: EgressRule.PORT_NOT_ALLOWED,
  });
  out.push({
    config: 'plain',
    name: 'plain GET to 443',
    host: 'exact.allowed.test',
    method: 'GET',
    port: 443,
    expect: 'deny',
    rule: EgressRule.PORT_NOT_ALLOWED,
  });
  out.push({
    config: 'plain',
    name: 'plain GET with a Host header that differs (upstream sees the target)',
    host: 'exact.allowed.test',
    method: 'GET',
    port: 80,
    hostHeader: 'denied.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'plain',
    name: 'plain GET to a denied target with an allowed Host header',
    host: 'denied.test',
    method: 'GET',
    port: 80,
    hostHeader: 'exact.allowed.test',
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  for (const [kind, host, guard] of ipLiterals) {
    out.push({
      config: 'plain',
      name: `plain GET to IP literal, ${kind}`,
      host,
      method: 'GET',
      port: 80,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
      ...auditGuard(guard),
    });
  }
  out.push({
    config: 'plain',
    name: 'plain GET, allowlisted name resolving to metadata',
    host: 'metadata-rebind.allowed.test',
    method: 'GET',
    port: 80,
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });
  out.push({
    config: 'plain',
    name: 'plain GET, allowlisted name resolving to loopback',
    host: 'loopback-rebind.allowed.test',
    method: 'GET',
    port: 80,
    expect: 'deny',
    rule: EgressRule.TO_LOCALHOST,
  });
  out.push({
    config: 'plain',
    name: 'CONNECT still works with plain HTTP on',
    host: 'exact.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'plain',
    name: 'CONNECT to port 80 with plain HTTP on',
    host: 'exact.allowed.test',
    port: 80,
    raw: 'GET / HTTP/1.1\r\nHost: exact.allowed.test\r\n\r\n',
    expect: 'deny',
    rule: EgressRule.PORT_NOT_ALLOWED,
  });

  // ---- PROXY protocol v2: sources and endpoint IDs from the header ----
  const good: Ppv2Header = { source: '10.50.1.2', endpointId: VPCE };
  out.push({
    config: 'ppv2',
    name: 'listed source and endpoint',
    host: 'exact.allowed.test',
    ppv2: good,
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'ppv2',
    name: 'second listed endpoint (short ID)',
    host: 'exact.allowed.test',
    ppv2: { source: '10.50.9.9', endpointId: 'vpce-0a1b2c3d' },
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'ppv2',
    name: 'IPv6 source in an IPv6 CIDR',
    host: 'exact.allowed.test',
    ppv2: { source: '2001:db8:50::5', endpointId: VPCE },
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'ppv2',
    name: 'source outside the CIDRs',
    host: 'exact.allowed.test',
    ppv2: { source: '10.60.1.2', endpointId: VPCE },
    expect: 'deny',
    rule: EgressRule.SOURCE_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'source just past the CIDR',
    host: 'exact.allowed.test',
    ppv2: { source: '10.51.0.0', endpointId: VPCE },
    expect: 'deny',
    rule: EgressRule.SOURCE_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'IPv6 source outside the CIDRs',
    host: 'exact.allowed.test',
    ppv2: { source: '2001:db8:60::5', endpointId: VPCE },
    expect: 'deny',
    rule: EgressRule.SOURCE_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'socket peer is not the judged source',
    host: 'exact.allowed.test',
    ppv2: { source: '192.0.2.10', endpointId: VPCE },
    expect: 'deny',
    rule: EgressRule.SOURCE_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'unlisted endpoint',
    host: 'exact.allowed.test',
    ppv2: { source: '10.50.1.2', endpointId: 'vpce-0fffffffffffffff0' },
    expect: 'deny',
    rule: EgressRule.ENDPOINT_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'endpoint ID with a listed prefix',
    host: 'exact.allowed.test',
    ppv2: { source: '10.50.1.2', endpointId: `${VPCE}0` },
    expect: 'deny',
    rule: EgressRule.ENDPOINT_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'no endpoint TLV',
    host: 'exact.allowed.test',
    ppv2: { source: '10.50.1.2' },
    expect: 'deny',
    rule: EgressRule.ENDPOINT_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'port 8443 listed in this policy',
    host: 'exact.allowed.test',
    port: 8443,
    ppv2: good,
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'ppv2',
    name: 'port 9443 not listed',
    host: 'exact.allowed.test',
    port: 9443,
    ppv2: good,
    expect: 'deny',
    rule: EgressRule.PORT_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'good identity, denied destination',
    host: 'denied.test',
    ppv2: good,
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'good identity, IP literal',
    host: up,
    ppv2: good,
    expect: 'deny',
    rule: EgressRule.IP_LITERAL,
  });
  out.push({
    config: 'ppv2',
    name: 'bad source wins over a denied destination',
    host: 'denied.test',
    ppv2: { source: '10.60.1.2', endpointId: VPCE },
    expect: 'deny',
    rule: EgressRule.SOURCE_NOT_ALLOWED,
  });
  out.push({
    config: 'ppv2',
    name: 'good identity, metadata rebinding',
    host: 'metadata-rebind.allowed.test',
    ppv2: good,
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });

  // ---- private destinations: names resolving into each range, and literals ----
  for (const [label, address] of Object.entries(lab.privateAddresses)) {
    out.push({
      config: 'default',
      name: `allowlisted name resolving to ${label} (${address})`,
      host: `${label}.private.allowed.test`,
      expect: 'deny',
      rule: EgressRule.TO_PRIVATE,
    });
    const literal = address.includes(':') ? `[${address}]` : address;
    out.push({
      config: 'default',
      name: `IP literal in ${label} (${literal})`,
      host: literal,
      sni: null,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
      audit: { expect: 'deny', rule: EgressRule.TO_PRIVATE },
    });
  }
  const rfc1918 = lab.privateAddresses['rfc1918-10'];
  const [p1, p2, p3, p4] = rfc1918.split('.').map(Number);
  for (const [kind, literal] of [
    ['IPv4-mapped', `[::ffff:${rfc1918}]`],
    ['decimal', String(p1 * 2 ** 24 + p2 * 2 ** 16 + p3 * 2 ** 8 + p4)],
    ['hex', `0x${[p1, p2, p3, p4].map((x) => x.toString(16).padStart(2, '0')).join('')}`],
  ]) {
    out.push({
      config: 'default',
      name: `IP literal in RFC 1918, ${kind} (${literal})`,
      host: literal,
      sni: null,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
      audit: { expect: 'deny', rule: EgressRule.TO_PRIVATE },
    });
  }
  // DNS answers that mix ranges (served by the lab's DNS server): one private answer is enough.
  for (const [name, why, rule] of [
    ['two-a-public-private.dns.allowed.test', 'two A records, one public and one RFC 1918', EgressRule.TO_PRIVATE],
    ['a-public-aaaa-ula.dns.allowed.test', 'a public A and a unique-local AAAA', EgressRule.TO_PRIVATE],
    ['a-private-aaaa-public.dns.allowed.test', 'an RFC 1918 A and a public AAAA', EgressRule.TO_PRIVATE],
    ['a-public-aaaa-link-local.dns.allowed.test', 'a public A and a link-local AAAA', EgressRule.TO_LINK_LOCAL],
    ['a-public-a-loopback.dns.allowed.test', 'a public and a loopback A', EgressRule.TO_LOCALHOST],
  ] as Array<[string, string, EgressRule]>) {
    out.push({ config: 'default', name: `DNS: ${why}`, host: name, expect: 'deny', rule });
  }
  out.push({
    config: 'default',
    name: 'DNS: two public A records and a public AAAA',
    host: 'all-public.dns.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'default',
    name: 'DNS: a name not on the allowlist is never resolved (denied by name)',
    host: 'two-a-public-private.dns.denied.test',
    expect: 'deny',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
    audit: { expect: 'deny', rule: EgressRule.TO_PRIVATE },
  });
  // IP literals Squid does not parse: no DNS name ends in a number.
  for (const literal of ['999.1.1.1', '1.2.3.4.5', 'exact.allowed.test.1', '0x100000000']) {
    out.push({
      config: 'default',
      name: `malformed IP literal ${literal}`,
      host: literal,
      sni: null,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
      audit: { expect: 'deny', rule: EgressRule.INVALID_IP_LITERAL },
    });
  }
  // The unspecified address is not numeric to Squid, in any spelling.
  for (const literal of ['0.0.0.0', '0', '[::]']) {
    out.push({
      config: 'default',
      name: `unspecified address ${literal}`,
      host: literal,
      sni: null,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
      audit: { expect: 'deny', rule: EgressRule.INVALID_IP_LITERAL },
    });
  }
  // Squid removes every trailing dot of the requested host.
  out.push({
    config: 'default',
    name: 'two trailing dots are removed too',
    host: 'exact.allowed.test..',
    sni: 'exact.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  // Malformed requests: evaluate() throws, Squid answers 400 and reaches nothing.
  for (const [why, host, port] of [
    ['an empty host', '', 443],
    ['two dots in a row', 'exact..allowed.test', 443],
    ['a leading dot', '.exact.allowed.test', 443],
    ['port 0', 'exact.allowed.test', 0],
    ['port 70000', 'exact.allowed.test', 70000],
  ] as Array<[string, string, number]>) {
    out.push({ config: 'default', name: `malformed: ${why}`, host, port, expect: 'invalid' });
  }

  // ---- allowedPrivateCidrs: an opted-in range is reachable; a name with any other private answer is not ----
  const opted = lab.privateAddresses['rfc1918-10'];
  out.push({
    config: 'private',
    name: 'opted-in: a name resolving into an allowed private range',
    host: 'rfc1918-10.private.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'private',
    name: 'opted-in: a name resolving into an allowed IPv6 unique-local range',
    host: 'unique-local-ipv6.private.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'private',
    name: 'opted-in: one answer in the allowed range, one in another private range (the any-address leak)',
    host: 'opted-and-other.dns.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_PRIVATE,
  });
  out.push({
    config: 'private',
    name: 'opted-in: one answer in the allowed range, one public',
    host: 'opted-and-public.dns.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'private',
    name: 'opted-in: another private range stays denied',
    host: 'rfc1918-172.private.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_PRIVATE,
  });
  out.push({
    config: 'private',
    name: 'opted-in: an IP literal in the allowed range is still an IP literal',
    host: opted,
    sni: null,
    expect: 'deny',
    rule: EgressRule.IP_LITERAL,
    audit: { expect: 'allow', rule: EgressRule.IP_LITERAL },
  });
  out.push({
    config: 'private',
    name: 'opted-in: link-local is never opened',
    host: 'metadata-rebind.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });
  out.push(...consumerCases());
  return out;
}

function policyProps(config: ConfigName, mode: EgressMode): EgressPolicyProps {
  switch (config) {
    case 'default':
      return { allowedDomains: ALLOWED_DOMAINS, mode };
    case 'plain':
      return { allowedDomains: ALLOWED_DOMAINS, allowPlainHttp: true, mode };
    case 'ppv2':
      return {
        allowedDomains: ALLOWED_DOMAINS,
        ports: [443, 8443],
        sourceCidrs: ['10.50.0.0/16', '2001:db8:50::/48'],
        allowedEndpointIds: [VPCE, 'vpce-0a1b2c3d'],
        mode,
      };
    case 'private':
      return { allowedDomains: ALLOWED_DOMAINS, allowedPrivateCidrs: ['10.233.250.0/24', 'fd00:233::/64'], mode };
    case 'consumers':
      return { allowedDomains: ALLOWED_DOMAINS, allowPlainHttp: true, consumers: CONSUMERS, mode };
    case 'consumers-only':
      return { consumers: CONSUMERS, mode };
  }
}

/** The request as a user would give it to evaluate(): a name's DNS answers, nothing for an IP literal. */
function requestFor(c: Case, dns: Record<string, string[]>): EgressRequest {
  const key = c.host.toLowerCase().replace(/\.+$/, '');
  return {
    host: c.host,
    port: c.port,
    method: c.method,
    tls: c.raw === undefined,
    sni: c.sni === undefined ? undefined : (c.sni ?? undefined),
    resolvedAddresses: dns[key],
    sourceAddress: c.ppv2?.source,
    endpointId: c.evaluateEndpointId === undefined ? c.ppv2?.endpointId : (c.evaluateEndpointId ?? undefined),
  };
}

/** What a case must give in a mode: enforce as written; audit from the guardrails unless written. */
function expected(c: Case, mode: EgressMode): { allowed: boolean; rule?: EgressRule; audited: boolean } | 'invalid' {
  if (c.expect === 'invalid') return 'invalid';
  if (mode === EgressMode.ENFORCE) return { allowed: c.expect === 'allow', rule: c.rule, audited: false };
  if (c.audit) {
    const audited = c.audit.expect === 'allow' && c.audit.rule !== EgressRule.ALLOWLISTED;
    return { allowed: c.audit.expect === 'allow', rule: c.audit.rule, audited };
  }
  if (c.expect === 'allow') return { allowed: true, rule: c.rule, audited: false };
  const guard = c.rule !== undefined && GUARDRAILS.has(c.rule);
  return { allowed: !guard, rule: c.rule, audited: !guard };
}

/** The `rule=` and `audit=` fields of the access-log lines written for one request. */
function loggedRules(lines: string[]): string[] {
  return lines.map((l) => `${/ rule=(\S+)/.exec(l)?.[1]}${/ audit=would-deny/.test(l) ? '+audit' : ''}`);
}

describeWithRealSquid('real Squid and evaluate() agree on the request corpus, in enforce and audit mode', () => {
  let lab: Lab;
  let certs: TestCertificates;
  let upstream: Upstream;
  let dnsServer: DnsServer;
  let hosts: Record<string, string>;
  let dns: Record<string, string[]>;

  beforeAll(async () => {
    lab = Lab.create();
    certs = makeCertificates(lab.dir, CERT_NAMES);
    hosts = hostsFor(lab);
    const records = dnsRecordsFor(lab);
    dns = { ...Object.fromEntries(Object.entries(hosts).map(([n, a]) => [n, [a]])), ...records };
    upstream = await Upstream.start(lab, certs.serverCert, certs.serverKey);
    dnsServer = await DnsServer.start(lab, records);
  });
  afterAll(async () => {
    await upstream?.stop();
    await dnsServer?.stop();
    lab?.destroy();
  });

  test('every case, in both modes: expected outcome == evaluate() == real Squid, one log line naming the rule, and denied requests never reach an upstream', async () => {
    const all = cases(lab);
    expect(all.length).toBeGreaterThanOrEqual(150);
    const disagreements: string[] = [];
    const leaks: string[] = [];
    const ruleMismatches: string[] = [];
    const failedCases = new Set<Case>();

    for (const mode of [EgressMode.ENFORCE, EgressMode.AUDIT]) {
      for (const config of ['default', 'plain', 'ppv2', 'private', 'consumers', 'consumers-only'] as ConfigName[]) {
        const policy = new EgressPolicy(policyProps(config, mode));
        const squid = await SquidRun.start(lab, policy, {
          bumpFile: certs.bumpFile,
          hosts,
          proxyProtocolSources: PPV2_CONFIGS.includes(config) ? [`${lab.hostAddress}/32`] : undefined,
        });
        try {
          for (const c of all.filter((x) => x.config === config)) {
            const tag = `[${mode} ${config}] ${c.name}`;
            const fail = (list: string[], msg: string) => {
              list.push(`${tag}: ${msg}`);
              failedCases.add(c);
            };
            const want = expected(c, mode);
            let decision: EgressDecision | undefined;
            let thrown: string | undefined;
            try {
              decision = policy.evaluate(requestFor(c, dns));
            } catch (e) {
              thrown = (e as Error).message;
            }
            const before = upstream.accepts();
            const logBefore = squid.accessLog().length;
            const port = c.port ?? (c.method && c.method !== 'CONNECT' ? 80 : 443);
            const result = await proxyRequest({
              proxyHost: squid.address,
              proxyPort: squid.port,
              ppv2: c.ppv2,
              method: c.method,
              target: c.method && c.method !== 'CONNECT' ? `http://${c.host}:${port}/` : `${c.host}:${port}`,
              hostHeader: c.hostHeader,
              sni: c.sni,
              raw: c.raw,
              ca: certs.ca,
            });
            // Squid writes the log line when the transaction ends.
            if (want !== 'invalid') {
              await waitFor(
                `the access-log line of '${c.name}'`,
                () => squid.accessLog().length > logBefore,
                5000,
              ).catch(() => undefined);
            }
            await new Promise((r) => setTimeout(r, 100));
            const reached = upstream.accepts() > before;
            if (want === 'invalid') {
              if (thrown === undefined) fail(disagreements, `evaluate() did not throw (${JSON.stringify(decision)})`);
              if (reached) fail(leaks, 'a malformed request reached an upstream');
              if (result.status !== undefined && result.status !== 400) {
                fail(disagreements, `Squid answered ${result.status}, not 400`);
              }
              continue;
            }
            if (thrown !== undefined || decision === undefined) {
              fail(disagreements, `evaluate() threw: ${thrown}`);
              continue;
            }
            // Squid let the request through when the upstream saw a connection for it.
            const squidAllowed = reached;
            const plain = c.method !== undefined && c.method !== 'CONNECT';
            const served = plain
              ? UPSTREAM_PLAIN_PORTS.includes(port)
              : UPSTREAM_TLS_PORTS.includes(port) && c.raw === undefined;
            if (want.allowed && served && !result.reachedUpstream) {
              fail(
                disagreements,
                `allowed, but the upstream's answer did not come back (${result.error ?? result.status})`,
              );
            }
            if (decision.allowed !== want.allowed || squidAllowed !== want.allowed) {
              fail(
                disagreements,
                `expected ${want.allowed ? 'allow' : 'deny'}, evaluate() ${decision.allowed ? 'allow' : 'deny'} (${decision.rule}), ` +
                  `Squid ${squidAllowed ? 'allow' : 'deny'} (status ${result.status}, ${result.error ?? 'no error'}, upstream ${reached ? 'reached' : 'not reached'})`,
              );
            }
            if (!want.allowed && reached) fail(leaks, 'reached a forbidden upstream');
            if (want.rule && (decision.rule !== want.rule || decision.audited !== want.audited)) {
              fail(
                ruleMismatches,
                `evaluate() ${decision.rule}${decision.audited ? '+audit' : ''}, expected ${want.rule}${want.audited ? '+audit' : ''}`,
              );
            }
            const lines = squid.accessLog().slice(logBefore);
            const logged = loggedRules(lines);
            const wantLogged = `${decision.rule}${decision.audited ? '+audit' : ''}`;
            if (logged.length !== 1 || logged[0] !== wantLogged) {
              fail(
                ruleMismatches,
                `access log ${JSON.stringify(logged)}, evaluate() ${wantLogged} (one line expected)`,
              );
            }
            if (c.ppv2) {
              // The log names the client from the PROXY header (not the NLB), the bare endpoint ID (or
              // '-' when the header has none Squid's helper accepts), and the client's consumers.
              const id = c.ppv2.endpointSubtype === undefined ? c.ppv2.endpointId : undefined;
              const endpoint = id !== undefined && /^vpce-[0-9a-f]+$/.test(id) ? id : '-';
              const consumers = decision.consumers.length > 0 ? decision.consumers.join(',') : '-';
              const identity = `client=${c.ppv2.source} endpoint=${endpoint} consumer=${consumers} `;
              if (!lines.some((l) => l.includes(identity))) {
                fail(ruleMismatches, `no access-log line with '${identity}'`);
              }
            }
          }
        } finally {
          await squid.stop();
        }
      }
    }
    const agreed = all.filter((c) => !failedCases.has(c)).length;
    // eslint-disable-next-line no-console
    console.log(
      `agreement: ${agreed}/${all.length} cases, both modes; ${leaks.length} leaks (requests that reached a forbidden upstream)`,
    );
    expect({ disagreements, leaks, ruleMismatches }).toEqual({ disagreements: [], leaks: [], ruleMismatches: [] });
  }, 900_000);
});
