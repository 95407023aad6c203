import { Lab } from './lab';

/** The allowlist every real-Squid test starts from. */
export const ALLOWED_DOMAINS = [
  'exact.allowed.test',
  '.wild.test',
  '*.star.test',
  'sts.us-east-1.amazonaws.com',
  'metadata-rebind.allowed.test',
  'loopback-rebind.allowed.test',
  'v6.allowed.test',
  '.private.allowed.test',
  '.dns.allowed.test',
];

/** Every name the tests use, allowed or not, mapped into the lab (hosts_file): a leak would land on our upstream. */
export function hostsFor(lab: Lab): Record<string, string> {
  const up = lab.upstreamAddresses[0];
  const names = [
    'exact.allowed.test',
    'x.exact.allowed.test',
    'wild.test',
    'a.wild.test',
    'a.b.wild.test',
    'notwild.test',
    'star.test',
    'a.star.test',
    'a.b.star.test',
    'sts.us-east-1.amazonaws.com',
    'sts.us-west-2.amazonaws.com',
    'evilamazonaws.com',
    'denied.test',
    'exact.allowed.test.evil.test',
    'wild.test.evil.test',
    'sts.us-east-1.amazonaws.com.evil.test',
    ...CONSUMER_NAMES,
  ];
  const hosts: Record<string, string> = {};
  for (const n of names) hosts[n] = up;
  hosts['metadata-rebind.allowed.test'] = lab.linkLocalAddress;
  hosts['loopback-rebind.allowed.test'] = '127.0.0.1';
  hosts['v6.allowed.test'] = lab.ipv6UpstreamAddress;
  // One allowlisted name in each private range: <label>.private.allowed.test.
  for (const [label, address] of Object.entries(lab.privateAddresses)) hosts[`${label}.private.allowed.test`] = address;
  return hosts;
}

/**
 * Names with several DNS answers, served by the lab's DNS server (Squid's hosts file keeps one
 * address per name): answers that mix public and private ranges, A and AAAA.
 */
export function dnsRecordsFor(lab: Lab): Record<string, string[]> {
  const [up, up2] = lab.upstreamAddresses;
  const priv = lab.privateAddresses;
  return {
    'two-a-public-private.dns.allowed.test': [up, priv['rfc1918-10']],
    'two-a-public-private.dns.denied.test': [up, priv['rfc1918-10']],
    'a-public-aaaa-ula.dns.allowed.test': [up, priv['unique-local-ipv6']],
    'a-private-aaaa-public.dns.allowed.test': [priv['rfc1918-192'], lab.ipv6UpstreamAddress],
    'a-public-aaaa-link-local.dns.allowed.test': [up, 'fe80::233:2'],
    'a-public-a-loopback.dns.allowed.test': [up, '127.0.0.1'],
    'all-public.dns.allowed.test': [up, up2, lab.ipv6UpstreamAddress],
    'opted-and-other.dns.allowed.test': [priv['rfc1918-10'], priv['rfc1918-172']],
    'opted-and-public.dns.allowed.test': [priv['rfc1918-10'], up],
  };
}

/** Destinations of the consumers in the per-consumer tests (each on one consumer's list, or the apex of one). */
export const CONSUMER_NAMES = [
  'a-only.consumers.test',
  'x.a-wild.consumers.test',
  'a-wild.consumers.test',
  'b-only.consumers.test',
  'vpn-only.consumers.test',
  'c-only.consumers.test',
];

/** Names the upstream certificate covers. */
export const CERT_NAMES = [
  '*.allowed.test',
  'exact.allowed.test',
  'wild.test',
  '*.wild.test',
  '*.b.wild.test',
  'star.test',
  '*.star.test',
  '*.b.star.test',
  'notwild.test',
  'denied.test',
  'evilamazonaws.com',
  'sts.us-east-1.amazonaws.com',
  'sts.us-west-2.amazonaws.com',
  '*.evil.test',
  '*.allowed.test.evil.test',
  '*.us-east-1.amazonaws.com.evil.test',
  '*.private.allowed.test',
  '*.dns.allowed.test',
  '*.consumers.test',
  '*.a-wild.consumers.test',
];
