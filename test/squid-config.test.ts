/**
 * SquidConfig.render: the sections of squid.conf in their order, the listening address and the
 * DNS servers it writes, and the errors for inputs Squid would misread. (The access rules
 * themselves are tested in decision-chain.test.ts; test/squid/config-parse.test.ts parses the
 * output with real Squid.)
 */
import { Lazy } from 'aws-cdk-lib';
import { EgressPolicy, SquidConfig, SquidRenderOptions } from '../src';

const policy = () => new EgressPolicy({ allowedDomains: ['example.com', '.example.org'] });
const conf = (o: SquidRenderOptions = {}) => SquidConfig.render(policy(), o).files[0].content;
const line = (text: string, directive: string) => text.split('\n').find((l) => l.startsWith(`${directive} `));

describe('sections', () => {
  test('squid.conf has its sections in order: port, ACLs, access rules, TLS, logs, hardening, capacity', () => {
    const headings = conf()
      .split('\n')
      .filter((l) => l.startsWith('## ') && !l.startsWith('## the rule'))
      .map((l) => l.slice(3).split(':')[0].split(' (')[0]);
    expect(headings).toEqual([
      'Listening port',
      'ACLs',
      'Access rules, rendered from the decision chain',
      'TLS',
      'Logs',
      'Hardening',
      'Capacity',
    ]);
  });

  test('squid.conf comes first, then every file it names, each named in it', () => {
    const r = SquidConfig.render(
      new EgressPolicy({ allowedDomains: ['*.example.com'], allowedEndpointIds: ['vpce-0123456789abcdef0'] }),
      {
        proxyProtocolSources: ['10.0.0.0/24'],
      },
    );
    expect(r.files[0].path).toBe(r.configFile);
    const main = r.files[0].content;
    const others = r.files.slice(1).map((f) => f.path);
    expect(others).toEqual([
      '/etc/squid/egress-allowed-domains.txt',
      '/etc/squid/egress-subdomain-only-names.txt',
      '/etc/squid/egress-endpoint-ids.txt',
      '/etc/squid/egress-endpoint-acl',
      '/etc/squid/egress-refuse-rewriter',
    ]);
    for (const p of others.filter((f) => !f.endsWith('-ids.txt'))) expect(main).toContain(p);
    // The ID list is the helper's argument.
    expect(line(main, 'external_acl_type')).toMatch(/egress-endpoint-acl \/etc\/squid\/egress-endpoint-ids\.txt$/);
  });

  test('the result reports the workers and descriptors squid.conf sets', () => {
    const r = SquidConfig.render(policy(), { vcpus: 4 });
    const text = r.files[0].content;
    expect(line(text, 'workers')).toBe(`workers ${r.workers}`);
    expect(line(text, 'max_filedescriptors')).toBe(`max_filedescriptors ${r.maxFileDescriptors}`);
    expect(r.workers).toBe(4);
  });

  test("without maxFileDescriptors, descriptors for an NLB target's 55,000 tunnels (two each) plus 20%, over the workers", () => {
    // README, Sizing: the render default for an unsized host is 132,096 with one worker.
    expect(SquidConfig.render(policy()).maxFileDescriptors).toBe(132_096);
    expect(SquidConfig.render(policy(), { vcpus: 4 }).maxFileDescriptors).toBe(33_792);
    expect(SquidConfig.render(policy(), { maxFileDescriptors: 21_504 }).maxFileDescriptors).toBe(21_504);
  });
});

describe('listenAddress', () => {
  test('omitted: Squid listens on every address', () => {
    expect(line(conf({ port: 3129 }), 'http_port')).toMatch(/^http_port 3129 ssl-bump /);
  });

  test('an IPv4 address is written as address:port, an IPv6 address in brackets', () => {
    expect(line(conf({ listenAddress: '10.0.0.5' }), 'http_port')).toMatch(/^http_port 10\.0\.0\.5:3128 /);
    expect(line(conf({ listenAddress: 'fd00::5', port: 8443 }), 'http_port')).toMatch(/^http_port \[fd00::5\]:8443 /);
  });

  test('a token is written as it is', () => {
    const token = Lazy.string({ produce: () => '10.0.0.9' });
    expect(line(conf({ listenAddress: token }), 'http_port')).toContain(`${token}:3128 `);
  });

  test.each(['proxy.example.com', '[fd00::5]', '10.0.0.5:3128', '10.0.0.256', '', ' 10.0.0.5'])(
    "'%s' is rejected, naming the value, the option and the rule",
    (bad) => {
      expect(() => conf({ listenAddress: bad })).toThrow(
        `Invalid listenAddress '${bad}': expected one IPv4 or IPv6 address such as '10.0.0.5' or 'fd00::5'`,
      );
    },
  );
});

describe('dnsNameservers', () => {
  test('omitted: no dns_nameservers line (Squid reads /etc/resolv.conf)', () => {
    expect(line(conf(), 'dns_nameservers')).toBeUndefined();
  });

  test('IPv4 and IPv6 servers, in the order given; a token as it is', () => {
    const token = Lazy.string({ produce: () => '10.0.0.2' });
    expect(line(conf({ dnsNameservers: ['10.0.0.2', 'fd00::53', token] }), 'dns_nameservers')).toBe(
      `dns_nameservers 10.0.0.2 fd00::53 ${token}`,
    );
  });

  test('an empty list is rejected (it would silently fall back to resolv.conf)', () => {
    expect(() => conf({ dnsNameservers: [] })).toThrow(
      'Invalid dnsNameservers []: give at least one DNS server address, or omit dnsNameservers',
    );
  });

  test.each(['resolver.example.com', '10.0.0.2:53', '10.0.0.2 10.0.0.3', ''])(
    "entry '%s' is rejected, naming the value, the option and the rule",
    (bad) => {
      expect(() => conf({ dnsNameservers: ['10.0.0.2', bad] })).toThrow(
        `Invalid dnsNameservers entry '${bad}': expected an IPv4 or IPv6 address such as '10.0.0.2'`,
      );
    },
  );
});
