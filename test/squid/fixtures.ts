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
  ];
  const hosts: Record<string, string> = {};
  for (const n of names) hosts[n] = up;
  hosts['metadata-rebind.allowed.test'] = lab.linkLocalAddress;
  hosts['loopback-rebind.allowed.test'] = '127.0.0.1';
  hosts['v6.allowed.test'] = lab.ipv6UpstreamAddress;
  return hosts;
}

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
];
