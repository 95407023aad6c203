import { Annotations, CfnOutput, Fn, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { ClientSettings } from './client-settings';
import { EgressProxyService } from './egress-proxy-service';
import { parseCidr } from './private/cidr';
import { acknowledgeNagFindings } from './private/nag';

/**
 * Options of an {@link EgressProxyEndpoint}, without the VPC and the service (the
 * `PrivateEgressProxy` construct passes these through).
 */
export interface EgressProxyEndpointOptions {
  /**
   * Subnets for the endpoint's network interfaces (one per Availability Zone).
   * @default - the VPC's private subnets (isolated ones if it has no others)
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * Networks that may connect to the proxy port (added to the endpoint's security group), such as
   * on-premises or other-cloud ranges reached over VPN.
   * @default - the consumer VPC's CIDR block, unless `allowedPeers` is given
   */
  readonly allowedCidrs?: string[];
  /**
   * Peers that may connect to the proxy port, e.g. an Auto Scaling group or a security group.
   * More can be added later with `connections.allowDefaultPortFrom()`.
   * @default - none; see `allowedCidrs`
   */
  readonly allowedPeers?: ec2.IConnectable[];
  /**
   * A friendly DNS name for the proxy (e.g. `proxy.egress.internal`), an alias record to the
   * endpoint in a private hosted zone.
   * @default - no record: clients use the endpoint's regional DNS name
   */
  readonly dnsName?: string;
  /**
   * The private hosted zone for `dnsName`.
   * @default - a new private hosted zone, associated with the VPC, for the part of `dnsName` after its first label
   */
  readonly hostedZone?: route53.IPrivateHostedZone;
  /**
   * The port clients use. It must be the provider's port.
   * @default - the service's port
   */
  readonly port?: number;
  /**
   * Add stack outputs with the proxy URL and a copy-paste `export` line.
   * @default true
   */
  readonly outputs?: boolean;
}

/**
 * Properties of an {@link EgressProxyEndpoint}.
 */
export interface EgressProxyEndpointProps extends EgressProxyEndpointOptions {
  /** The consumer VPC the endpoint is created in. */
  readonly vpc: ec2.IVpc;
  /** The proxy's endpoint service. */
  readonly service: EgressProxyService;
}

/**
 * The consumer side: an interface VPC endpoint to the egress proxy, its security group, an
 * optional friendly DNS name, and the client settings that point the AWS CLI and SDKs at it.
 *
 * Consumers see only the Availability Zones they share with the provider, matched by AZ ID
 * (`use1-az1`) across accounts: choose subnets in AZs whose IDs the provider serves.
 */
export class EgressProxyEndpoint extends Construct implements ec2.IConnectable {
  /** The interface VPC endpoint. */
  public readonly endpoint: ec2.InterfaceVpcEndpoint;
  /** The endpoint ID (`vpce-…`), as the provider's PROXY protocol header carries it. */
  public readonly endpointId: string;
  /** The DNS name clients use: `dnsName` when given, else the endpoint's regional DNS name. */
  public readonly dnsName: string;
  /** The proxy port. */
  public readonly port: number;
  /** `http://<dnsName>:<port>`: the value for `HTTPS_PROXY` and `HTTP_PROXY`. */
  public readonly proxyUrl: string;
  /** The endpoint's security group. */
  public readonly connections: ec2.Connections;
  /** The client environment for this endpoint. */
  public readonly clientSettings: ClientSettings;
  /** The private hosted zone of `dnsName`, when one is used. */
  public readonly hostedZone?: route53.IPrivateHostedZone;

  /**
   * @param scope the parent construct
   * @param id the construct ID; it is part of every resource's logical ID, so changing it replaces the endpoint, its security group and DNS name
   * @param props the properties
   */
  constructor(scope: Construct, id: string, props: EgressProxyEndpointProps) {
    super(scope, id);
    const service = props.service.bind(this);
    this.port = props.port ?? service.port;
    if (!Token.isUnresolved(this.port) && (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535)) {
      throw new Error(`Invalid port ${this.port}: ports must be whole numbers from 1 to 65535`);
    }
    if (props.port !== undefined && props.port !== service.port) {
      throw new Error(
        `Invalid port ${props.port}: the proxy service listens on ${service.port}; the endpoint must use the same port`,
      );
    }
    const cidrs = (props.allowedCidrs ?? []).map((c) =>
      Token.isUnresolved(c) ? c : parseCidr(c, 'allowed CIDR').text,
    );

    const subnets = props.vpc.selectSubnets(props.subnets ?? defaultSubnets(props.vpc));
    if (subnets.subnets.length === 0) {
      throw new Error('Invalid subnets: the selection matches no subnets of the consumer VPC');
    }
    this.checkAvailabilityZones(subnets.availabilityZones, service.availabilityZones, service.account);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Clients of the egress proxy endpoint',
      allowAllOutbound: false,
    });
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointService(service.serviceName, this.port),
      subnets: props.subnets ?? defaultSubnets(props.vpc),
      securityGroups: [securityGroup],
      open: false,
      privateDnsEnabled: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(this.port) });
    const peers = props.allowedPeers ?? [];
    const ingress = cidrs.length > 0 || peers.length > 0 ? cidrs : [props.vpc.vpcCidrBlock];
    for (const c of ingress) {
      const peer = !Token.isUnresolved(c) && c.includes(':') ? ec2.Peer.ipv6(c) : ec2.Peer.ipv4(c);
      this.connections.allowFrom(peer, ec2.Port.tcp(this.port), 'Proxy clients');
    }
    for (const p of peers) this.connections.allowDefaultPortFrom(p, 'Proxy clients');
    // cdk-nag's AwsSolutions-EC23 (no 0.0.0.0/0 ingress) cannot read an Fn::GetAtt CIDR and
    // reports a validation failure instead of a result. Acknowledge that only when the unreadable
    // rule is the consumer VPC's own CIDR block and no literal rule is open to the world (rules
    // added later through `connections` are the caller's to check).
    const vpcCidr = props.vpc.vpcCidrBlock;
    const unresolved = ingress.filter((c) => Token.isUnresolved(c));
    if (
      unresolved.length > 0 &&
      unresolved.every((c) => c === vpcCidr) &&
      !ingress.some((c) => !Token.isUnresolved(c) && /\/0$/.test(c))
    ) {
      acknowledgeNagFindings(securityGroup, [
        {
          id: 'CdkNagValidationFailure',
          reason:
            "The ingress rule that cdk-nag cannot resolve is the consumer VPC's own CIDR block (Fn::GetAtt on the VPC), never 0.0.0.0/0 or ::/0.",
          appliesTo: ['AwsSolutions-EC23'],
        },
      ]);
    }

    this.endpointId = this.endpoint.vpcEndpointId;
    if (props.dnsName !== undefined) {
      const name = props.dnsName.replace(/\.$/, '').toLowerCase();
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(name)) {
        throw new Error(
          `Invalid dnsName '${props.dnsName}': a host name with at least two labels, e.g. 'proxy.egress.internal'`,
        );
      }
      this.hostedZone =
        props.hostedZone ??
        new route53.PrivateHostedZone(this, 'Zone', { vpc: props.vpc, zoneName: name.slice(name.indexOf('.') + 1) });
      new route53.ARecord(this, 'Record', {
        zone: this.hostedZone,
        recordName: `${name}.`,
        target: route53.RecordTarget.fromAlias(new targets.InterfaceVpcEndpointTarget(this.endpoint)),
      });
      this.dnsName = name;
    } else {
      // Entries look like 'Z1HUB23UULQXV:vpce-….vpce-svc-….<region>.vpce.amazonaws.com'; the first is regional.
      this.dnsName = Fn.select(1, Fn.split(':', Fn.select(0, this.endpoint.vpcEndpointDnsEntries)));
    }
    this.proxyUrl = `http://${this.dnsName}:${this.port}`;
    this.clientSettings = ClientSettings.forProxyUrl(this.proxyUrl);

    if (props.outputs ?? true) {
      new CfnOutput(this, 'ProxyUrl', {
        description: 'HTTPS_PROXY / HTTP_PROXY for clients of the egress proxy',
        value: this.proxyUrl,
      });
      new CfnOutput(this, 'ExportCommand', {
        description: 'Paste into a shell to send the AWS CLI and SDKs through the egress proxy',
        value: this.clientSettings.exportCommand(),
      });
    }
  }

  /** The client environment variables (see {@link ClientSettings.environment}). */
  public clientEnvironment(): { [name: string]: string } {
    return this.clientSettings.environment();
  }

  /**
   * Send an instance's login shells and systemd services through the proxy, and let its
   * security group reach the endpoint.
   */
  public configureInstance(instance: ec2.Instance): void {
    this.clientSettings.applyToUserData(instance.userData);
    this.allowClient(instance);
  }

  /**
   * Send an Auto Scaling group's instances through the proxy (its user data must be the
   * group's own, not a launch template's), and let its security group reach the endpoint.
   */
  public configureAutoScalingGroup(group: autoscaling.AutoScalingGroup): void {
    this.clientSettings.applyToUserData(group.userData);
    this.allowClient(group);
  }

  /** Let a peer's security group reach the proxy port, in both directions' rules. */
  public allowClient(peer: ec2.IConnectable): void {
    this.connections.allowDefaultPortFrom(peer, 'Proxy client');
  }

  /** Send a container's AWS CLI and SDK calls through the proxy. */
  public configureContainer(container: ecs.ContainerDefinition): void {
    this.clientSettings.applyToContainer(container);
  }

  private checkAvailabilityZones(
    consumerAzs: string[],
    providerAzs: string[] | undefined,
    providerAccount: string | undefined,
  ): void {
    // AZ names only mean the same zone within one account. Equal strings (tokens included, e.g.
    // the same VPC's zones) are the same zone; distinct unresolved names cannot be compared.
    if (providerAzs !== undefined && providerAccount !== undefined && providerAccount === Stack.of(this).account) {
      const missing = consumerAzs.filter((az) => !providerAzs.includes(az));
      if (missing.length === 0) return;
      if (![...missing, ...providerAzs].some((az) => Token.isUnresolved(az))) {
        throw new Error(
          `Invalid subnets: the endpoint would have network interfaces in ${missing.join(', ')}, where the proxy service has no targets (it serves ${providerAzs.join(', ')})`,
        );
      }
    }
    Annotations.of(this).addWarningV2(
      'cdk-private-egress-proxy:azs-unchecked',
      "The endpoint subnets could not be checked against the provider's Availability Zones (other account, or AZs unknown at synth). " +
        'Consumers can only use AZs the provider serves, matched by AZ ID (e.g. use1-az1), not by name: choose subnets in those AZ IDs.',
    );
  }
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.privateSubnets.length > 0
    ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }
    : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
}
