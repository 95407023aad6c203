/**
 * The specification of what the proxy allows, checked three ways for every case:
 * the expected outcome written here, `EgressPolicy.evaluate()`, and real Squid running the
 * rendered configuration (judged at the upstream: a denied request must never reach it).
 */
import { makeCertificates, TestCertificates } from './certs';
import { ALLOWED_DOMAINS, CERT_NAMES, hostsFor } from './fixtures';
import { Lab } from './lab';
import { Ppv2Header, proxyRequest } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { SquidRun, Upstream, waitFor } from './squid-runner';
import { EgressMode, EgressPolicy, EgressPolicyProps, EgressRequest, EgressRule } from '../../src';

type ConfigName = 'default' | 'plain' | 'ppv2' | 'audit';

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
  readonly expect: 'allow' | 'deny';
  /** The rule that must decide (checked against evaluate() and Squid's access log). */
  readonly rule?: EgressRule;
}

const VPCE = 'vpce-0123456789abcdef0';

function cases(lab: Lab): Case[] {
  const up = lab.upstreamAddresses[0];
  const [a, b, c, d] = up.split('.').map(Number);
  const decimal = String(a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d);
  const hex = `0x${[a, b, c, d].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
  const octal = [a, b, c, d].map((x) => `0${x.toString(8)}`).join('.');
  const short = `${a}.${b}.${c * 256 + d}`;
  const ipLiterals = [
    ['dotted', up],
    ['decimal', decimal],
    ['hex', hex],
    ['octal', octal],
    ['shortened', short],
    ['dotted hex', [a, b, c, d].map((x) => `0x${x.toString(16)}`).join('.')],
    ['bracketed IPv6', `[${lab.ipv6UpstreamAddress}]`],
    ['IPv4-mapped IPv6', `[::ffff:${up}]`],
    ['loopback', '127.0.0.1'],
    ['bracketed IPv6 loopback', '[::1]'],
    ['link-local', lab.linkLocalAddress],
  ];
  const out: Case[] = [];
  const D = ALLOWED_DOMAINS;
  void D;

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
  for (const [kind, host] of ipLiterals) {
    out.push({
      config: 'default',
      name: `IP literal, ${kind} (${host})`,
      host,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
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
  for (const port of [8443, 80, 22, 25, 3128, 65535]) {
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
  for (const [kind, host] of ipLiterals) {
    out.push({
      config: 'plain',
      name: `plain GET to IP literal, ${kind}`,
      host,
      method: 'GET',
      port: 80,
      expect: 'deny',
      rule: EgressRule.IP_LITERAL,
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

  // ---- audit mode: allowed but logged; localhost and link-local stay denied ----
  out.push({
    config: 'audit',
    name: 'audit: allowlisted',
    host: 'exact.allowed.test',
    expect: 'allow',
    rule: EgressRule.ALLOWLISTED,
  });
  out.push({
    config: 'audit',
    name: 'audit: unlisted name allowed and logged',
    host: 'denied.test',
    expect: 'allow',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  out.push({
    config: 'audit',
    name: 'audit: subdomain-only apex allowed and logged',
    host: 'star.test',
    expect: 'allow',
    rule: EgressRule.DESTINATION_NOT_ALLOWED,
  });
  out.push({
    config: 'audit',
    name: 'audit: IP literal allowed and logged',
    host: up,
    sni: null,
    expect: 'allow',
    rule: EgressRule.IP_LITERAL,
  });
  out.push({
    config: 'audit',
    name: 'audit: other port allowed and logged',
    host: 'exact.allowed.test',
    port: 8443,
    expect: 'allow',
    rule: EgressRule.PORT_NOT_ALLOWED,
  });
  out.push({
    config: 'audit',
    name: 'audit: denied SNI allowed and logged',
    host: 'exact.allowed.test',
    sni: 'denied.test',
    expect: 'allow',
    rule: EgressRule.SNI_NOT_ALLOWED,
  });
  out.push({
    config: 'audit',
    name: 'audit: plain HTTP allowed and logged',
    host: 'denied.test',
    method: 'GET',
    port: 80,
    expect: 'allow',
    rule: EgressRule.PLAIN_HTTP_NOT_ALLOWED,
  });
  out.push({
    config: 'audit',
    name: 'audit: still denies metadata by name',
    host: 'metadata-rebind.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });
  out.push({
    config: 'audit',
    name: 'audit: still denies metadata by address',
    host: lab.linkLocalAddress,
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });
  out.push({
    config: 'audit',
    name: 'audit: still denies plain HTTP to metadata',
    host: lab.linkLocalAddress,
    method: 'GET',
    port: 80,
    expect: 'deny',
    rule: EgressRule.TO_LINK_LOCAL,
  });
  out.push({
    config: 'audit',
    name: 'audit: still denies loopback by name',
    host: 'loopback-rebind.allowed.test',
    expect: 'deny',
    rule: EgressRule.TO_LOCALHOST,
  });
  out.push({
    config: 'audit',
    name: 'audit: still denies loopback by address',
    host: '127.0.0.1',
    expect: 'deny',
    rule: EgressRule.TO_LOCALHOST,
  });
  out.push({
    config: 'audit',
    name: 'audit: still denies IPv6 loopback',
    host: '[::1]',
    expect: 'deny',
    rule: EgressRule.TO_LOCALHOST,
  });
  return out;
}

function policyProps(config: ConfigName): EgressPolicyProps {
  switch (config) {
    case 'default':
      return { allowedDomains: ALLOWED_DOMAINS };
    case 'plain':
      return { allowedDomains: ALLOWED_DOMAINS, allowPlainHttp: true };
    case 'ppv2':
      return {
        allowedDomains: ALLOWED_DOMAINS,
        ports: [443, 8443],
        sourceCidrs: ['10.50.0.0/16', '2001:db8:50::/48'],
        allowedEndpointIds: [VPCE, 'vpce-0a1b2c3d'],
      };
    case 'audit':
      return { allowedDomains: ALLOWED_DOMAINS, mode: EgressMode.AUDIT };
  }
}

function requestFor(c: Case, hosts: Record<string, string>): EgressRequest {
  const bare = c.host.replace(/^\[|\]$/g, '');
  const key = c.host.toLowerCase().replace(/\.$/, '');
  const resolved =
    hosts[key] ?? (/^[0-9.]+$/.test(bare) || bare.includes(':') ? bare.replace(/^::ffff:/, '') : undefined);
  return {
    host: c.host,
    port: c.port,
    method: c.method,
    tls: c.raw === undefined,
    sni: c.sni === undefined ? undefined : (c.sni ?? undefined),
    resolvedAddress: resolved,
    sourceAddress: c.ppv2?.source,
    endpointId: c.ppv2?.endpointId,
  };
}

/** The `rule=` and `audit=` fields of the access-log lines written for one request. */
function loggedRules(lines: string[]): string[] {
  return lines.map((l) => `${/ rule=(\S+)/.exec(l)?.[1]}${/ audit=would-deny/.test(l) ? '+audit' : ''}`);
}

describeWithRealSquid('real Squid and evaluate() agree on the request corpus', () => {
  let lab: Lab;
  let certs: TestCertificates;
  let upstream: Upstream;
  let hosts: Record<string, string>;

  beforeAll(async () => {
    lab = Lab.create();
    certs = makeCertificates(lab.dir, CERT_NAMES);
    hosts = hostsFor(lab);
    upstream = await Upstream.start(lab, certs.serverCert, certs.serverKey);
  });
  afterAll(async () => {
    await upstream?.stop();
    lab?.destroy();
  });

  test('every case: expected outcome == evaluate() == real Squid, and denied requests never reach an upstream', async () => {
    const all = cases(lab);
    expect(all.length).toBeGreaterThanOrEqual(100);
    const disagreements: string[] = [];
    const leaks: string[] = [];
    const ruleMismatches: string[] = [];
    let denied = 0;

    for (const config of ['default', 'plain', 'ppv2', 'audit'] as ConfigName[]) {
      const policy = new EgressPolicy(policyProps(config));
      const squid = await SquidRun.start(lab, policy, {
        bumpFile: certs.bumpFile,
        hosts,
        proxyProtocolSources: config === 'ppv2' ? [`${lab.hostAddress}/32`] : undefined,
      });
      try {
        for (const c of all.filter((x) => x.config === config)) {
          const decision = policy.evaluate(requestFor(c, hosts));
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
          await waitFor(`the access-log line of '${c.name}'`, () => squid.accessLog().length > logBefore, 5000).catch(
            () => undefined,
          );
          await new Promise((r) => setTimeout(r, 100));
          const reached = upstream.accepts() > before;
          const squidAllowed = reached && (c.raw !== undefined || c.expect === 'deny' || result.reachedUpstream);
          const expectedAllowed = c.expect === 'allow';
          if (!expectedAllowed) denied++;
          if (decision.allowed !== expectedAllowed || squidAllowed !== expectedAllowed) {
            disagreements.push(
              `[${config}] ${c.name}: expected ${c.expect}, evaluate() ${decision.allowed ? 'allow' : 'deny'} (${decision.rule}), ` +
                `Squid ${squidAllowed ? 'allow' : 'deny'} (status ${result.status}, ${result.error ?? 'no error'}, upstream ${reached ? 'reached' : 'not reached'})`,
            );
          }
          if (!expectedAllowed && reached) leaks.push(`[${config}] ${c.name}`);
          const logged = loggedRules(squid.accessLog().slice(logBefore));
          const want = `${decision.rule}${decision.audited ? '+audit' : ''}`;
          if (c.rule && decision.rule !== c.rule) {
            ruleMismatches.push(`[${config}] ${c.name}: evaluate() rule ${decision.rule}, expected ${c.rule}`);
          }
          if (!logged.includes(want)) {
            ruleMismatches.push(`[${config}] ${c.name}: access log ${JSON.stringify(logged)}, evaluate() ${want}`);
          }
          if (c.ppv2) {
            // The log names the client from the PROXY header (not the NLB) and the endpoint ID.
            const identity = `client=${c.ppv2.source} endpoint=${c.ppv2.endpointId ? `%01${c.ppv2.endpointId}` : '-'} `;
            if (
              !squid
                .accessLog()
                .slice(logBefore)
                .some((l) => l.includes(identity))
            ) {
              ruleMismatches.push(`[${config}] ${c.name}: no access-log line with '${identity}'`);
            }
          }
        }
      } finally {
        await squid.stop();
      }
    }
    // eslint-disable-next-line no-console
    console.log(
      `${all.length} cases, ${disagreements.length} disagreements, ${denied} denied, ${leaks.length} reached a forbidden upstream`,
    );
    expect({ disagreements, leaks, ruleMismatches }).toEqual({ disagreements: [], leaks: [], ruleMismatches: [] });
  }, 600_000);
});
