/**
 * One consumer of a shared egress proxy (a team, an application, a VPN): the clients it names may
 * reach its own destinations on top of the policy's shared `allowedDomains`. See
 * {@link EgressPolicyProps.consumers}.
 *
 * A client is this consumer when its VPC endpoint ID is in `endpointIds` (when given) **and** its
 * address is in `sourceCidrs` (when given): both come from the PROXY protocol v2 header the load
 * balancer adds, which clients cannot forge. Give at least one of the two. Prefer `endpointIds`:
 * an endpoint ID names one consumer VPC, while consumer VPCs in different accounts often use the
 * same private address ranges.
 *
 * @example
 * const policy = new EgressPolicy({
 *   allowedDomains: ['sts.eu-west-1.amazonaws.com'],
 *   consumers: [
 *     { name: 'payments', endpointIds: ['vpce-0123456789abcdef0'], allowedDomains: ['api.stripe.com'] },
 *   ],
 * });
 */
export interface EgressConsumer {
  /**
   * The consumer's name, written to the access log (`consumer=<name>`) for each of its requests:
   * 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit; unique in the policy
   * (ignoring case).
   */
  readonly name: string;

  /**
   * VPC endpoint IDs (`vpce-…`) of the consumer's interface endpoints.
   *
   * @default - the endpoint does not matter: `sourceCidrs` alone identifies the consumer
   */
  readonly endpointIds?: string[];

  /**
   * Client networks (IPv4 and IPv6 CIDR blocks) of the consumer, judged on the client address from
   * PROXY protocol v2.
   *
   * @default - the source does not matter: `endpointIds` alone identifies the consumer
   */
  readonly sourceCidrs?: string[];

  /**
   * Destination host names this consumer may reach in addition to the policy's `allowedDomains`,
   * in the same syntax (`name`, `.name`, `*.name`). Another consumer, or a client that is no
   * consumer, cannot reach them unless its own lists name them.
   */
  readonly allowedDomains: string[];
}
