/* eslint-disable no-bitwise -- 128-bit address arithmetic on bigint */
/**
 * The pieces the decision chain stands on: addresses and CIDR sets, requested hosts read as Squid
 * reads them, the private address space, and the Public Suffix List sections.
 */
import {
  CidrSet,
  formatAddress,
  fromIpv4,
  isIpv4,
  parseAddress,
  parseCidr,
  parseEndpointId,
} from '../src/private/cidr';
import { parseDomainEntry } from '../src/private/domain-name';
import { DomainSet } from '../src/private/domain-set';
import { publicSuffixWildcard } from '../src/private/public-suffix';
import { parseInetAton, parseRequestHost } from '../src/private/request-host';
import { addressSpaces, parseAllowedPrivateCidrs } from '../src/private/reserved-addresses';

// Built inside each test (not at import), so that mutation testing sees the tests that use them.
const LOCALHOST = { contains: (a: bigint) => addressSpaces().localhost.contains(a) };
const LINK_LOCAL = { contains: (a: bigint) => addressSpaces().linkLocal.contains(a) };
const PRIVATE = { contains: (a: bigint) => addressSpaces().private.contains(a) };

const addr = (text: string) => parseAddress(text)!;

describe('addresses', () => {
  test('an IPv4 address and its IPv4-mapped IPv6 spelling are the same address', () => {
    expect(addr('10.1.2.3')).toBe(addr('::ffff:10.1.2.3'));
    expect(addr('10.1.2.3')).toBe(addr('::ffff:a01:203'));
    expect(addr('10.1.2.3')).toBe(fromIpv4(0x0a010203));
    expect(isIpv4(addr('::ffff:10.1.2.3'))).toBe(true);
  });

  test('IPv4-compatible, NAT64 and other embeddings of an IPv4 address are IPv6 addresses of their own', () => {
    for (const text of ['::10.1.2.3', '64:ff9b::10.1.2.3', '1::ffff:10.1.2.3', '2001:db8::10.1.2.3']) {
      expect({ text, v4: isIpv4(addr(text)) }).toEqual({ text, v4: false });
      expect(addr(text)).not.toBe(addr('10.1.2.3'));
    }
  });

  test('IPv6 text with and without a gap reads the same', () => {
    expect(addr('2001:db8:0:0:0:0:0:1')).toBe(addr('2001:db8::1'));
    expect(addr('::')).toBe(0n);
    expect(addr('::1')).toBe(1n);
    expect(addr('1::')).toBe(1n << 112n);
    expect(addr('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe((1n << 128n) - 1n);
  });

  test.each(['', 'example.com', '10.1.2', '10.1.2.256', '::g', '0x0a.1.2.3', '010.1.2.3'])(
    'standard notation only: %j is not an address',
    (text) => {
      expect(parseAddress(text)).toBeUndefined();
    },
  );

  test('addresses print as IPv4 dotted or IPv6 compressed', () => {
    expect(formatAddress(addr('::ffff:10.1.2.3'))).toBe('10.1.2.3');
    expect(formatAddress(addr('2001:db8:0::1'))).toBe('2001:db8::1');
    expect(formatAddress(addr('::10.1.2.3'))).toBe('::a01:203');
  });
});

describe('CIDR blocks and sets', () => {
  test('a block is read in canonical form, IPv4-mapped IPv6 blocks as IPv4', () => {
    expect(parseCidr('10.0.0.0/8', 'x').text).toBe('10.0.0.0/8');
    expect(parseCidr('2001:DB8::/32', 'x').text).toBe('2001:db8::/32');
    expect(parseCidr('::ffff:10.0.0.0/104', 'x')).toMatchObject({ text: '10.0.0.0/8', family: 'ipv4' });
    expect(parseCidr('::/0', 'x')).toMatchObject({ text: '::/0', family: 'ipv6', first: 0n, last: (1n << 128n) - 1n });
    expect(parseCidr(' 10.0.0.0/8 ', 'x').text).toBe('10.0.0.0/8');
  });

  test('the family of a block: IPv4, IPv4-mapped IPv6 (as IPv4), IPv6', () => {
    expect(parseCidr('10.0.0.0/8', 'x')).toMatchObject({ family: 'ipv4', text: '10.0.0.0/8' });
    expect(parseCidr('::ffff:0.0.0.0/96', 'x')).toMatchObject({ family: 'ipv4', text: '0.0.0.0/0' });
    expect(parseCidr('::fffe:0:0/95', 'x')).toMatchObject({ family: 'ipv6', text: '::fffe:0:0/95' });
    expect(parseCidr('::/96', 'x')).toMatchObject({ family: 'ipv6', text: '::/96' });
    expect(parseCidr('2001:db8::/32', 'x')).toMatchObject({ family: 'ipv6' });
  });

  test('a block covers exactly its addresses', () => {
    const c = parseCidr('10.1.0.0/16', 'x');
    expect(c.first).toBe(addr('10.1.0.0'));
    expect(c.last).toBe(addr('10.1.255.255'));
    const one = parseCidr('10.1.2.3/32', 'x');
    expect(one.first).toBe(one.last);
  });

  test.each([
    ['10.0.0.1/8', "it has host bits set; did you mean '10.0.0.0/8'?"],
    ['2001:db8::1/32', "it has host bits set; did you mean '2001:db8::/32'?"],
    ['10.0.0.0', 'needs a prefix length'],
    ['10.0.0.0/33', 'the prefix length must be 0-32'],
    ['::/129', 'the prefix length must be 0-128'],
    ['10.0.0.0/1a', 'the prefix length must be 0-32'],
    ['10.0.0.0/0008', 'the prefix length must be 0-32'],
    ['host/8', "'host' is not an IPv4 or IPv6 address"],
  ])('%s is rejected: %s', (input, rule) => {
    expect(() => parseCidr(input, 'test CIDR')).toThrow(`Invalid test CIDR '${input}': `);
    expect(() => parseCidr(input, 'test CIDR')).toThrow(rule);
  });

  test('membership at the edges of every range', () => {
    const set = CidrSet.of(['10.0.0.0/8', '192.168.0.0/16', 'fc00::/7']);
    for (const [a, inside] of [
      ['10.0.0.0', true],
      ['10.255.255.255', true],
      ['9.255.255.255', false],
      ['11.0.0.0', false],
      ['192.168.0.0', true],
      ['192.168.255.255', true],
      ['192.169.0.0', false],
      ['192.167.255.255', false],
      ['fc00::', true],
      ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
      ['fe00::', false],
      ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ] as Array<[string, boolean]>) {
      expect({ a, inside: set.contains(addr(a)) }).toEqual({ a, inside });
    }
    expect(new CidrSet([]).contains(addr('10.0.0.1'))).toBe(false);
    expect(new CidrSet([]).empty).toBe(true);
    expect(set.empty).toBe(false);
  });

  test('adjacent and overlapping blocks merge; the smallest CIDR list comes back', () => {
    expect(CidrSet.of(['10.0.0.0/9', '10.128.0.0/9']).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(CidrSet.of(['10.0.0.0/8', '10.1.0.0/16']).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(CidrSet.of(['10.1.0.0/16', '10.0.0.0/8']).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(CidrSet.of(['10.0.0.0/32', '10.0.0.1/32', '10.0.0.2/32']).toCidrs()).toEqual(['10.0.0.0/31', '10.0.0.2/32']);
    expect(CidrSet.of(['0.0.0.0/0']).toCidrs()).toEqual(['0.0.0.0/0']);
    expect(CidrSet.of(['::/0']).toCidrs()).toEqual(['::/0']);
    expect(CidrSet.of(['2001:db8::/33', '2001:db8:8000::/33']).toCidrs()).toEqual(['2001:db8::/32']);
    // Given in reverse order, and with a gap.
    expect(CidrSet.of(['10.3.0.0/16', '10.2.0.0/16', '10.0.0.0/16']).toCidrs()).toEqual(['10.0.0.0/16', '10.2.0.0/15']);
    expect(CidrSet.of(['10.0.0.0/16', '10.0.0.0/8']).toCidrs()).toEqual(['10.0.0.0/8']);
  });

  test('subtraction leaves the fewest blocks around the hole', () => {
    const rest = CidrSet.of(['10.0.0.0/8']).minus(CidrSet.of(['10.1.0.0/16']));
    expect(rest.toCidrs()).toEqual([
      '10.0.0.0/16',
      '10.2.0.0/15',
      '10.4.0.0/14',
      '10.8.0.0/13',
      '10.16.0.0/12',
      '10.32.0.0/11',
      '10.64.0.0/10',
      '10.128.0.0/9',
    ]);
    expect(rest.contains(addr('10.1.2.3'))).toBe(false);
    expect(rest.contains(addr('10.0.255.255'))).toBe(true);
    expect(rest.contains(addr('10.2.0.0'))).toBe(true);
  });

  test('subtracting a single address at either end of a range', () => {
    const ten = CidrSet.of(['10.0.0.0/8']);
    const noFirst = ten.minus(CidrSet.of(['10.0.0.0/32']));
    expect(noFirst.contains(addr('10.0.0.0'))).toBe(false);
    expect(noFirst.contains(addr('10.0.0.1'))).toBe(true);
    expect(noFirst.contains(addr('10.255.255.255'))).toBe(true);
    const noLast = ten.minus(CidrSet.of(['10.255.255.255/32']));
    expect(noLast.contains(addr('10.255.255.255'))).toBe(false);
    expect(noLast.contains(addr('10.255.255.254'))).toBe(true);
    expect(noLast.contains(addr('10.0.0.0'))).toBe(true);
    // Blocks that only touch the range leave it whole.
    expect(ten.minus(CidrSet.of(['9.255.255.255/32', '11.0.0.0/32'])).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(noFirst.toCidrs()).toHaveLength(24);
  });

  test('subtraction at the ends, of everything, of nothing, and of several holes', () => {
    const ten = CidrSet.of(['10.0.0.0/8']);
    expect(ten.minus(CidrSet.of(['10.0.0.0/9'])).toCidrs()).toEqual(['10.128.0.0/9']);
    expect(ten.minus(CidrSet.of(['10.128.0.0/9'])).toCidrs()).toEqual(['10.0.0.0/9']);
    expect(ten.minus(CidrSet.of(['0.0.0.0/0'])).toCidrs()).toEqual([]);
    expect(ten.minus(CidrSet.of(['11.0.0.0/8'])).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(ten.minus(new CidrSet([])).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(ten.minus(CidrSet.of(['10.0.0.0/10', '10.128.0.0/10'])).toCidrs()).toEqual([
      '10.64.0.0/10',
      '10.192.0.0/10',
    ]);
    expect(
      CidrSet.of(['10.0.0.0/8', '172.16.0.0/12'])
        .minus(CidrSet.of(['10.0.0.0/8']))
        .toCidrs(),
    ).toEqual(['172.16.0.0/12']);
  });

  test('union, cover and overlap', () => {
    const a = CidrSet.of(['10.0.0.0/8']);
    const b = CidrSet.of(['192.168.0.0/16']);
    expect(a.plus(b).toCidrs()).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(a.covers(parseCidr('10.1.0.0/16', 'x'))).toBe(true);
    expect(a.covers(parseCidr('10.0.0.0/8', 'x'))).toBe(true);
    expect(a.covers(parseCidr('10.0.0.0/7', 'x'))).toBe(false);
    expect(a.covers(parseCidr('11.0.0.0/8', 'x'))).toBe(false);
    expect(a.overlaps(parseCidr('10.0.0.0/7', 'x'))).toBe(true);
    expect(a.overlaps(parseCidr('10.255.255.255/32', 'x'))).toBe(true);
    expect(a.overlaps(parseCidr('11.0.0.0/8', 'x'))).toBe(false);
    expect(a.overlaps(parseCidr('9.0.0.0/8', 'x'))).toBe(false);
    expect(a.overlaps(parseCidr('10.0.0.0/32', 'x'))).toBe(true);
    expect(a.overlaps(parseCidr('9.255.255.255/32', 'x'))).toBe(false);
  });

  test.each([
    'vpce-123',
    'xvpce-0123456789abcdef0',
    'vpce-0123456789abcdef0x',
    'vpce-0123456789abcdef00',
    'vpce-0123456789ABCDEF0',
    'avpce-0123abcd',
  ])('an endpoint ID with anything before or after the ID (%s) is rejected', (id) => {
    expect(() => parseEndpointId(id, 'allowedEndpointIds entry')).toThrow(`Invalid allowedEndpointIds entry '${id}'`);
  });

  test('8- and 17-digit endpoint IDs are accepted, surrounding space dropped', () => {
    expect(parseEndpointId('vpce-0123abcd', 'x')).toBe('vpce-0123abcd');
    expect(parseEndpointId(' vpce-0123456789abcdef0 ', 'x')).toBe('vpce-0123456789abcdef0');
  });
});

describe('requested hosts, read as Squid 5.7 reads them', () => {
  // What glibc 2.36's getaddrinfo(AI_NUMERICHOST), which Squid calls, answered for each spelling.
  test.each<[string, string | undefined]>([
    ['4294967295', '255.255.255.255'],
    ['4294967296', undefined],
    ['18446744073709551617', undefined],
    ['0x', undefined],
    ['0x.1.2.3', undefined],
    ['0x100000000', undefined],
    ['08', undefined],
    ['0', '0.0.0.0'],
    ['00', '0.0.0.0'],
    ['1..2', undefined],
    ['0x7f.1', '127.0.0.1'],
    ['0177.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['127.1.1.1.1', undefined],
    ['256.1', undefined],
    ['1.256.1', undefined],
    ['1.1.65535', '1.1.255.255'],
    ['1.1.65536', undefined],
    ['0X7F000001', '127.0.0.1'],
    ['01.02.03.04', '1.2.3.4'],
    ['1e1', undefined],
    ['0xffffffff', '255.255.255.255'],
    ['0xFFFFFFFFF', undefined],
    ['037777777777', '255.255.255.255'],
    ['040000000000', undefined],
    ['1.0x', undefined],
    ['1.0x.1', undefined],
    ['9999999999999', undefined],
    ['00000000000000000000001', '0.0.0.1'],
    ['1.2.3.0x4', '1.2.3.4'],
    ['1.2.0x10000', undefined],
    ['1.0xffffff', '1.255.255.255'],
    ['1.0x1000000', undefined],
  ])('inet_aton(%j) = %j', (text, dotted) => {
    const v = parseInetAton(text);
    expect(v === undefined ? undefined : formatAddress(fromIpv4(v))).toBe(dotted);
  });

  test.each([
    ['EXAMPLE.com', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com...', 'example.com'],
    ['under_score.test', 'under_score.test'],
  ])('the name %j is read as %j', (host, name) => {
    expect(parseRequestHost(host)).toEqual({ kind: 'name', name });
  });

  test.each([
    ['192.0.2.1', '192.0.2.1'],
    ['192.0.2.1.', '192.0.2.1'],
    ['3221225985', '192.0.2.1'],
    ['0xc0000201', '192.0.2.1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['[::ffff:192.0.2.1]', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['[fe80::1%eth0]', 'fe80::1'],
    ['[fe80::1%eth_0]', 'fe80::1'],
  ])('the IP literal %j is the address %s', (host, address) => {
    const h = parseRequestHost(host);
    expect(h.kind).toBe('ip');
    expect(h.kind === 'ip' && formatAddress(h.address)).toBe(address);
  });

  test.each([
    '999.1.1.1',
    '1.2.3.4.5',
    'example.com.1',
    '0',
    '0.0.0.0',
    '[::]',
    '::',
    '[::ffff:0.0.0.0]',
    '[1.2.3.4]',
    '[fe80::1%e*h0]',
    'a:b',
    '[::1%]',
    '[fe80::1%a%b]',
  ])('%j is shaped like an IP literal but is not one Squid parses (or is the unspecified address)', (host) => {
    expect(parseRequestHost(host).kind).toBe('invalid-ip');
  });

  test.each([
    ['', 'it is empty'],
    ['.', 'it is empty'],
    ['a..b', 'it has an empty label'],
    ['.a.b', 'it has an empty label'],
    ['a b', 'whitespace'],
    ['a\tb', 'whitespace'],
    ['a/b', 'one of / ? # @'],
    ['user@host', 'one of / ? # @'],
    ['[::1', "must end with ']'"],
    [`${'a'.repeat(250)}.com`, 'it is 254 characters long; a DNS name has at most 253'],
  ])('%j is an error naming the host: %s', (host, rule) => {
    expect(() => parseRequestHost(host)).toThrow(`Invalid request host '${host}': `);
    expect(() => parseRequestHost(host)).toThrow(rule);
  });

  test('a bracketed host that is not an address keeps its text, in lower case', () => {
    expect(parseRequestHost('[FE80::1%E*H0]')).toEqual({ kind: 'invalid-ip', name: '[fe80::1%e*h0]' });
  });

  test.each([null, undefined, 42])('a host that is not a string (%p) is an error naming the field', (host) => {
    expect(() => parseRequestHost(host as unknown as string)).toThrow(
      `Invalid request host '${host}': it is not a string`,
    );
  });

  test('a host of 253 characters is a name; trailing dots do not count', () => {
    const name = `${'a'.repeat(249)}.com`;
    expect(parseRequestHost(`${name}..`)).toEqual({ kind: 'name', name });
  });
});

describe('private address space', () => {
  test.each([
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '100.127.255.255',
    '198.18.0.1',
    '198.19.255.255',
    '192.0.0.170',
    '192.0.2.1',
    '198.51.100.1',
    '203.0.113.1',
    '224.0.0.1',
    '239.255.255.255',
    '240.0.0.1',
    '255.255.255.255',
    'fc00::1',
    'fd12:3456::1',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
    '::ffff:10.0.0.1',
    '::10.0.0.1',
    '64:ff9b::10.0.0.1',
    '64:ff9b::192.168.0.1',
    '64:ff9b:1::1',
    '2001::1',
    '100::1',
    '3fff::1',
  ])('%s is private or special-purpose', (a) => {
    expect(PRIVATE.contains(addr(a))).toBe(true);
  });

  test.each([
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '192.31.196.10',
    '52.94.0.1',
    '64:ff9b::8.8.8.8',
    '2600:1f18::1',
    '2620:4f:8000::10',
  ])('%s is public', (a) => {
    expect(PRIVATE.contains(addr(a))).toBe(false);
    expect(LOCALHOST.contains(addr(a))).toBe(false);
    expect(LINK_LOCAL.contains(addr(a))).toBe(false);
  });

  test.each([
    '127.0.0.1',
    '127.255.255.255',
    '0.0.0.0',
    '0.1.2.3',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::127.0.0.1',
    '64:ff9b::127.0.0.1',
  ])('%s is loopback or unspecified', (a) => {
    expect(LOCALHOST.contains(addr(a))).toBe(true);
  });

  test.each([
    '169.254.169.254',
    '169.254.0.0',
    'fe80::1',
    'fd00:ec2::254',
    'fd00:ec2::23',
    '::ffff:169.254.169.254',
    '::169.254.169.254',
    '64:ff9b::169.254.169.254',
  ])('%s is link-local', (a) => {
    expect(LINK_LOCAL.contains(addr(a))).toBe(true);
  });

  test('allowedPrivateCidrs entries inside private space are accepted, canonical', () => {
    expect(
      parseAllowedPrivateCidrs(['10.20.0.0/16', 'FD00::/8', '198.51.100.0/24'], addressSpaces()).toCidrs(),
    ).toEqual(['10.20.0.0/16', '198.51.100.0/24', 'fd00::/8']);
  });

  test.each([
    ['8.8.8.0/24', 'it is not (entirely) private or special-purpose address space'],
    ['10.0.0.0/7', 'it is not (entirely) private or special-purpose address space'],
    ['127.0.0.0/8', 'loopback and link-local addresses'],
    ['169.254.169.254/32', 'loopback and link-local addresses'],
    ['fe80::/10', 'loopback and link-local addresses'],
    ['10.0.0.1/8', 'host bits set'],
  ])('allowedPrivateCidrs entry %s is rejected: %s', (input, rule) => {
    expect(() => parseAllowedPrivateCidrs([input], addressSpaces())).toThrow(
      `Invalid allowedPrivateCidrs entry '${input}': `,
    );
    expect(() => parseAllowedPrivateCidrs([input], addressSpaces())).toThrow(rule);
  });
});

describe('Public Suffix List sections', () => {
  test.each([
    ['com', { suffix: 'com', section: 'icann' }],
    ['co.uk', { suffix: 'co.uk', section: 'icann' }],
    ['uk', { suffix: 'uk', section: 'icann' }],
    ['foo.kawasaki.jp', { suffix: '*.kawasaki.jp', section: 'icann' }],
    ['s3.amazonaws.com', { suffix: 's3.amazonaws.com', section: 'private' }],
    ['compute.amazonaws.com', { suffix: '*.compute.amazonaws.com', section: 'private' }],
    ['eu-west-1.compute.amazonaws.com', { suffix: '*.compute.amazonaws.com', section: 'private' }],
    ['github.io', { suffix: 'github.io', section: 'private' }],
    ['x.github.io', undefined],
    ['example.com', undefined],
    ['city.kawasaki.jp', undefined],
    ['my-bucket.s3.amazonaws.com', undefined],
  ])('a wildcard over %s covers %j', (name, covered) => {
    expect(publicSuffixWildcard(name)).toEqual(covered);
  });

  test('amazonaws.com leads to private-section suffixes only', () => {
    expect(publicSuffixWildcard('amazonaws.com')?.section).toBe('private');
  });
});

describe('the allowlist lookup', () => {
  test('only the apex of a *.name entry (without the name itself listed) is a subdomain-only apex', () => {
    const set = new DomainSet(
      ['*.star.test', '.dot.test', 'exact.test', '*.both.test', 'both.test'].map((e) => parseDomainEntry(e)),
    );
    expect(set.isSubdomainOnlyApex('star.test')).toBe(true);
    for (const name of ['dot.test', 'exact.test', 'both.test', 'a.star.test', 'unlisted.test']) {
      expect(set.isSubdomainOnlyApex(name)).toBe(false);
    }
  });
});

describe('allowlist entries that are bracketed IPv4 addresses', () => {
  // No ':' in them, and a last label of `1]`: only the leading '[' says they are IP literals.
  test.each(['[192.0.2.1]', '.[192.0.2.1]', '*.[192.0.2.1]'])(
    'the entry %s is rejected as an IP address, not for its bracket character',
    (entry) => {
      expect(() => parseDomainEntry(entry)).toThrow(
        `Invalid allowedDomains entry '${entry}': it is an IP address; only host names can be allowed (IP-literal destinations are always denied)`,
      );
    },
  );
});

describe('CIDR blocks and sets: suggestions, empty results and single addresses', () => {
  test('an IPv4-mapped IPv6 block with host bits set is suggested in IPv6 notation, with its own prefix', () => {
    expect(() => parseCidr('::ffff:10.0.0.1/104', 'test CIDR')).toThrow(
      "Invalid test CIDR '::ffff:10.0.0.1/104': it has host bits set; did you mean '::ffff:a00:0/104'?",
    );
  });

  test('a set minus itself (or minus a block that starts where it starts and covers it) is empty', () => {
    const ten = CidrSet.of(['10.0.0.0/8']);
    for (const other of [['10.0.0.0/8'], ['10.0.0.0/7'], ['10.0.0.0/9', '10.128.0.0/9']]) {
      const rest = ten.minus(CidrSet.of(other));
      expect({ other, empty: rest.empty, cidrs: rest.toCidrs() }).toEqual({ other, empty: true, cidrs: [] });
      // Nothing of it overlaps a block around its former first address.
      expect(rest.overlaps(parseCidr('8.0.0.0/6', 'x'))).toBe(false);
    }
  });

  test('subtracting the first address of a two-address range leaves the last address alone', () => {
    const rest = CidrSet.of(['10.0.0.0/31']).minus(CidrSet.of(['10.0.0.0/32']));
    expect(rest.toCidrs()).toEqual(['10.0.0.1/32']);
    expect(rest.contains(addr('10.0.0.1'))).toBe(true);
    expect(rest.contains(addr('10.0.0.0'))).toBe(false);
    const front = CidrSet.of(['10.0.0.0/31']).minus(CidrSet.of(['10.0.0.1/32']));
    expect(front.toCidrs()).toEqual(['10.0.0.0/32']);
  });

  test('a block beyond a range, not touching it, takes nothing away from it', () => {
    const ten = CidrSet.of(['10.0.0.0/8']);
    expect(ten.minus(CidrSet.of(['12.0.0.0/8'])).toCidrs()).toEqual(['10.0.0.0/8']);
    expect(ten.minus(CidrSet.of(['8.0.0.0/8'])).toCidrs()).toEqual(['10.0.0.0/8']);
  });

  test('a bad block given to CidrSet.of is an error naming it as a CIDR', () => {
    expect(() => CidrSet.of(['10.0.0.0/8', 'bad'])).toThrow("Invalid CIDR 'bad': a CIDR block needs a prefix length");
  });
});

describe('requested hosts: the name kept for an IP literal, and 255 in a leading part', () => {
  test.each([
    ['[2001:DB8::1]', '[2001:db8::1]', '2001:db8::1'],
    ['2001:DB8::1', '2001:db8::1', '2001:db8::1'],
    ['[FE80::1%Eth0]', '[fe80::1%eth0]', 'fe80::1'],
  ])('the IPv6 literal %j keeps its text in lower case (%j) as its name', (host, name, address) => {
    expect(parseRequestHost(host)).toEqual({ kind: 'ip', name, address: addr(address) });
  });

  test.each([
    ['255.255.255.255', '255.255.255.255'],
    ['255.1', '255.0.0.1'],
    ['0xff.0xff.0xffff', '255.255.255.255'],
  ])('255 is a byte in a leading part: %j is the address %s', (host, dotted) => {
    expect(parseRequestHost(host)).toEqual({ kind: 'ip', name: host, address: addr(dotted) });
  });
});
