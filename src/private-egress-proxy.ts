import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EgressMode, EgressPolicy } from './egress-policy';
import { EgressProxyEndpoint, EgressProxyEndpointOptions } from './egress-proxy-endpoint';
import { EgressProxyProvider, EgressProxyProviderOptions } from './egress-proxy-provider';

/**
 * Properties of a {@link PrivateEgressProxy}.
 */
export interface PrivateEgressProxyProps {
  /**
   * The provider VPC: the proxy fleet and its load balancer run here, in subnets with a route to
   * the internet (a NAT gateway).
   */
  readonly vpc: ec2.IVpc;
  /**
   * Destination host names the proxy may reach (see {@link EgressPolicyProps.allowedDomains}).
   * Give either this or `policy`.
   * @default - none: `policy` must be given
   */
  readonly allowedDomains?: string[];
  /**
   * The full policy (ports, plain HTTP, sources, endpoint IDs, mode). Give either this or
   * `allowedDomains`.
   * @default - a policy built from `allowedDomains` and `sourceCidrs`
   */
  readonly policy?: EgressPolicy;
  /**
   * Client networks that may use the proxy: the consumer endpoint's security group admits them,
   * and (when the policy is built from `allowedDomains`) the proxy itself checks them against
   * the client address that PROXY protocol v2 carries. Add the ranges of networks that reach the
   * endpoint over VPN here.
   * @default - the endpoint's security group admits the consumer VPC's CIDR block, and the proxy
   * itself checks no source address
   */
  readonly sourceCidrs?: string[];
  /**
   * Where clients are: the VPC of the interface endpoint.
   * @default - `vpc` (the seed topology: provider and clients in one VPC)
   */
  readonly consumerVpc?: ec2.IVpc;
  /**
   * Subnets of the consumer endpoint; each must be in a zone the provider serves.
   * @default - the consumer VPC's private subnets in the zones the provider serves
   */
  readonly consumerSubnets?: ec2.SubnetSelection;
  /**
   * The proxy port.
   * @default 3128
   */
  readonly port?: number;
  /**
   * Instances at least.
   * @default 2
   */
  readonly minCapacity?: number;
  /**
   * Instances at most.
   * @default 4
   */
  readonly maxCapacity?: number;
  /**
   * The proxy instance type.
   * @default - `c7gn.medium` (see `EgressProxyProviderProps.instanceType`)
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * A friendly DNS name for the proxy in a private hosted zone of the consumer VPC.
   * @default 'proxy.egress.internal'
   */
  readonly dnsName?: string;
  /**
   * Everything else for the provider side; the properties above win over the same ones here.
   * Unlike a lone provider, the endpoint service here needs no acceptance by default
   * (`acceptanceRequired: false`): it admits only this stack's account, and this construct's own
   * endpoint must connect without a manual step.
   * @default - the provider's defaults, with `acceptanceRequired: false`
   */
  readonly providerOptions?: EgressProxyProviderOptions;
  /**
   * Everything else for the consumer side; the properties above win over the same ones here.
   * @default - the endpoint's defaults
   */
  readonly endpointOptions?: EgressProxyEndpointOptions;
}

/**
 * The whole egress topology in one call: a hardened Squid fleet behind an internal NLB,
 * published as a PrivateLink endpoint service, and an interface endpoint for clients, with a
 * friendly DNS name and generated client settings.
 *
 * Both ends are in this stack's account, so the endpoint service admits only that account and
 * needs no acceptance: the endpoint connects at deployment, with no custom resource and no
 * Lambda function. To offer the proxy to other accounts, use {@link EgressProxyProvider} (where
 * acceptance is required by default) and {@link EgressProxyEndpoint} in the other account.
 *
 * @example
 * const egress = new PrivateEgressProxy(this, 'Egress', {
 *   vpc,
 *   allowedDomains: AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['eu-west-1'] }),
 * });
 * egress.endpoint.configureInstance(buildAgent);
 */
export class PrivateEgressProxy extends Construct implements ec2.IConnectable {
  /** The provider side: fleet, load balancer, endpoint service. */
  public readonly provider: EgressProxyProvider;
  /** The consumer side: interface endpoint, security group, DNS name, client settings. */
  public readonly endpoint: EgressProxyEndpoint;
  /** The policy the proxy enforces. */
  public readonly policy: EgressPolicy;
  /** `http://<dns name>:<port>`: the value for `HTTPS_PROXY` and `HTTP_PROXY`. */
  public readonly proxyUrl: string;
  /** The consumer endpoint's security group (clients connect here). */
  public readonly connections: ec2.Connections;

  /**
   * @param scope the parent construct
   * @param id the construct ID; it is part of every resource's logical ID, so changing it replaces the whole topology
   * @param props the properties
   */
  constructor(scope: Construct, id: string, props: PrivateEgressProxyProps) {
    super(scope, id);
    if ((props.allowedDomains === undefined) === (props.policy === undefined)) {
      throw new Error(
        props.policy
          ? 'Invalid allowedDomains: give either allowedDomains or policy, not both (put the domains into the policy)'
          : 'Invalid allowedDomains: missing; give allowedDomains (the host names the proxy may reach) or a full policy',
      );
    }
    if (props.policy === undefined) {
      for (const c of props.sourceCidrs ?? []) {
        if (Token.isUnresolved(c)) {
          throw new Error(
            `Invalid sourceCidrs entry '${c}': the proxy's own source check is rendered into its configuration at synth, ` +
              "so it needs literal CIDR blocks (e.g. '10.0.0.0/16'). Omit sourceCidrs to admit the consumer VPC's CIDR, " +
              'or put the token into endpointOptions.allowedCidrs (the security group only)',
          );
        }
      }
    }
    const consumerVpc = props.consumerVpc ?? props.vpc;
    this.policy =
      props.policy ??
      new EgressPolicy({
        allowedDomains: props.allowedDomains,
        sourceCidrs: props.sourceCidrs,
        mode: EgressMode.ENFORCE,
      });

    this.provider = new EgressProxyProvider(this, 'Provider', {
      ...props.providerOptions,
      vpc: props.vpc,
      policy: this.policy,
      port: props.port ?? props.providerOptions?.port,
      minCapacity: props.minCapacity ?? props.providerOptions?.minCapacity,
      maxCapacity: props.maxCapacity ?? props.providerOptions?.maxCapacity,
      instanceType: props.instanceType ?? props.providerOptions?.instanceType,
      allowedAccounts: this.admittedAccounts(props.providerOptions),
      acceptanceRequired: props.providerOptions?.acceptanceRequired ?? false,
    });
    this.endpoint = new EgressProxyEndpoint(this, 'Endpoint', {
      ...props.endpointOptions,
      vpc: consumerVpc,
      service: this.provider,
      subnets: props.consumerSubnets ?? props.endpointOptions?.subnets,
      allowedCidrs: props.sourceCidrs ?? props.endpointOptions?.allowedCidrs,
      dnsName: props.dnsName ?? props.endpointOptions?.dnsName ?? 'proxy.egress.internal',
    });
    if (props.providerOptions?.acceptanceRequired) {
      Annotations.of(this).addWarningV2(
        'cdk-private-egress-proxy:own-endpoint-needs-acceptance',
        "providerOptions.acceptanceRequired is true, so this construct's own endpoint stays pendingAcceptance and carries no " +
          'traffic until the service owner accepts it: aws ec2 accept-vpc-endpoint-connections --service-id <EndpointService ID> ' +
          '--vpc-endpoint-ids <endpoint ID>. Leave it unset to connect at deployment.',
      );
    }
    this.proxyUrl = this.endpoint.proxyUrl;
    this.connections = this.endpoint.connections;
  }

  /**
   * The accounts the endpoint service admits: always this stack's own (its endpoint is this
   * construct's), plus any the options add. Other accounts' endpoints connect without approval
   * unless `acceptanceRequired` is set (which also holds this construct's own endpoint back), so
   * admitting them warns.
   */
  private admittedAccounts(options: EgressProxyProviderOptions | undefined): string[] | undefined {
    if (options?.allowedAccounts === undefined && options?.allowedPrincipals === undefined) return undefined;
    const own = Stack.of(this).account;
    const others = (options.allowedAccounts ?? []).filter((a) => a !== own);
    if ((others.length > 0 || (options.allowedPrincipals ?? []).length > 0) && !options.acceptanceRequired) {
      Annotations.of(this).addWarningV2(
        'cdk-private-egress-proxy:other-accounts-without-acceptance',
        'providerOptions.allowedAccounts / allowedPrincipals admit principals besides this account, and acceptance is off ' +
          "(so this construct's own endpoint connects at deployment): their endpoints connect without the owner's approval. " +
          'To approve each one, publish the proxy with EgressProxyProvider (acceptance required by default) and create ' +
          'consumers with EgressProxyEndpoint.',
      );
    }
    return [own, ...others];
  }
}
