import { CidrSet, parseCidr } from './cidr';

const set = (cidrs: string[]) => new CidrSet(cidrs.map((c) => parseCidr(c, 'CIDR')));

/** Loopback and unspecified destinations the proxy never reaches, in any mode. */
export const LOCALHOST = set(['127.0.0.0/8', '0.0.0.0/8', '::1/128', '::/128']);

/**
 * Link-local destinations the proxy never reaches, in any mode: IPv4/IPv6 link-local (instance
 * metadata at 169.254.169.254, the VPC resolver, ECS and EKS Pod Identity credentials) and the
 * IPv6 instance metadata and EKS Pod Identity addresses.
 */
export const LINK_LOCAL = set(['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128', 'fd00:ec2::23/128']);
