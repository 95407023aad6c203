/**
 * Whether the policy blocks what it does not allow, or only reports it.
 */
export enum EgressMode {
  /** Requests the policy does not allow are denied. */
  ENFORCE = 'enforce',
  /**
   * The policy rules only log: a request that `ENFORCE` would deny for its source, endpoint, port,
   * plain HTTP, an IP-literal destination, a destination or TLS server name not on the allowlist,
   * or a tunnel that is not TLS is allowed and logged with the rule that would have denied it, so
   * teams can discover the domains they need before enforcing.
   *
   * The guardrails still deny in audit mode: destinations that are, or resolve to, loopback,
   * link-local (instance metadata), private or special-purpose space not in `allowedPrivateCidrs`,
   * or the provider VPC, and hosts shaped like an IP literal that are not a valid address.
   */
  AUDIT = 'audit',
}

/**
 * The rule that decided a request. The same names appear in the proxy's access log.
 */
export enum EgressRule {
  /** The request passed every rule and its destination is on the allowlist. */
  ALLOWLISTED = 'allowlisted',
  /** The client address (from PROXY protocol v2) is not in `sourceCidrs`. */
  SOURCE_NOT_ALLOWED = 'source-not-allowed',
  /** The VPC endpoint ID (from PROXY protocol v2) is not in `allowedEndpointIds`. */
  ENDPOINT_NOT_ALLOWED = 'endpoint-not-allowed',
  /** The destination port is not allowed for this kind of request. */
  PORT_NOT_ALLOWED = 'port-not-allowed',
  /** A plain-HTTP (non-CONNECT) request while `allowPlainHttp` is off. */
  PLAIN_HTTP_NOT_ALLOWED = 'plain-http-not-allowed',
  /** The destination is an IP address (dotted, decimal, hex, octal or IPv6), never a host name. */
  IP_LITERAL = 'ip-literal',
  /** The destination host name is not on the allowlist. */
  DESTINATION_NOT_ALLOWED = 'destination-not-allowed',
  /** The TLS server name (SNI) in the tunnel is not on the allowlist. */
  SNI_NOT_ALLOWED = 'sni-not-allowed',
  /** The bytes in a CONNECT tunnel are not a TLS handshake. */
  NOT_TLS = 'not-tls',
  /**
   * The destination looks like an IP address (its last label is a number, or it is bracketed or
   * contains ':') but is not one Squid can parse (`999.1.1.1`, `example.com.1`), or is the
   * unspecified address. No DNS name ends in a number, so it could never be resolved: a guardrail,
   * denied in every mode.
   */
  INVALID_IP_LITERAL = 'invalid-ip-literal',
  /** The destination is, or resolves to, a loopback or unspecified address. A guardrail. */
  TO_LOCALHOST = 'to-localhost',
  /**
   * The destination is, or resolves to, a link-local address (instance metadata, ECS/EKS
   * credentials). A guardrail.
   */
  TO_LINK_LOCAL = 'to-link-local',
  /**
   * The destination is, or has a DNS answer in, private or special-purpose address space
   * (RFC 1918, 100.64.0.0/10, unique-local IPv6, multicast, reserved, documentation, and their
   * IPv4-compatible and NAT64 forms) that `allowedPrivateCidrs` does not list. A guardrail.
   */
  TO_PRIVATE = 'to-private',
  /**
   * The destination is, or has a DNS answer in, the provider VPC's own CIDR blocks (the
   * `providerVpcCidrs` render option). A guardrail. `EgressPolicy.evaluate()` never returns it:
   * the policy does not know the VPC.
   */
  TO_PROVIDER_VPC = 'to-provider-vpc',
}
