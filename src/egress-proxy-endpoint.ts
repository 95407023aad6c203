import { Annotations, CfnOutput, Fn, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { ClientSettings } from './client-settings';
import { EgressProxyProvider } from './egress-proxy-provider';
import { IEgressProxyService } from './egress-proxy-service';
import { AvailabilityZoneIds } from './private/availability-zone-ids';
import { parseCidr } from './private/cidr';
import { acknowledgeNagFindings } from './private/nag';
import { checkPort } from './private/validation';

/**
 * One Availability Zone of an account: its name there and its AZ ID. Names map to different
 * physical zones in each account; AZ IDs do not. List them with
 * `aws ec2 describe-availability-zones --query 'AvailabilityZones[].[ZoneName,ZoneId]' --output text`.
 */
export interface AvailabilityZoneMapping {
  /** The zone's name in this account, e.g. `eu-west-1a`. */
  readonly zoneName: string;
  /** The zone's AZ ID, e.g. `euw1-az3`. */
  readonly zoneId: string;
}

/**
 * Options of an {@link EgressProxyEndpoint}, without the VPC and the service (the
 * `PrivateEgressProxy` construct passes these through).
 */
export interface EgressProxyEndpointOptions {
  /**
   * Subnets for the endpoint's network interfaces (one per Availability Zone). They must be in
   * zones the service serves; when that can be checked (same account, or the service's
   * `availabilityZoneIds` with `zoneMappings`), a subnet in another zone fails synthesis.
   *
   * @default - the VPC's private subnets (isolated ones if it has no others) in the zones the
   * service serves, when those are known; else all of them
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * This account's zone names and AZ IDs. With a service whose `availabilityZoneIds` are known
   * at synth time (e.g. `EgressProxyService.fromServiceAttributes`), the endpoint goes only into
   * subnets of zones the service serves, and `subnets` in any other zone fail synthesis.
   *
   * @default - none: a service in another account is not checked (synthesis warns)
   */
  readonly zoneMappings?: AvailabilityZoneMapping[];
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
   * @default false
   */
  readonly outputs?: boolean;
}

/**
 * Properties of an {@link EgressProxyEndpoint}.
 */
export interface EgressProxyEndpointProps extends EgressProxyEndpointOptions {
  /** The consumer VPC the endpoint is created in. */
  readonly vpc: ec2.IVpc;
  /**
   * The proxy's endpoint service: an `EgressProxyProvider` in this app and account, or
   * `EgressProxyService.fromServiceAttributes(...)` for one in another account.
   */
  readonly service: IEgressProxyService;
}

/**
 * The consumer side: an interface VPC endpoint to the egress proxy, its security group, an
 * optional friendly DNS name, and the client settings that point the AWS CLI and SDKs at it.
 *
 * Consumers can only use the Availability Zones the provider serves, matched by AZ ID
 * (`use1-az1`) across accounts: give the service's AZ IDs and this account's `zoneMappings`,
 * and the endpoint is placed only in those zones (or synthesis fails on a subnet elsewhere).
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
    const service = props.service;
    this.port = endpointPort(props);
    const serviceRegion = crossRegion(service.region, Stack.of(this).region);
    const subnets = serviceRegion ? this.selectSubnets(props) : this.placeInServedZones(props, service);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Clients of the egress proxy endpoint',
      allowAllOutbound: false,
    });
    this.endpoint = new ec2.InterfaceVpcEndpoint(this, 'Endpoint', {
      vpc: props.vpc,
      service: new ec2.InterfaceVpcEndpointService(service.endpointServiceName, this.port),
      subnets,
      securityGroups: [securityGroup],
      open: false,
      privateDnsEnabled: false,
    });
    if (serviceRegion) {
      // Cross-Region PrivateLink (the provider's `allowedRegions`); the L1 property, which every
      // supported aws-cdk-lib release renders.
      (this.endpoint.node.defaultChild as ec2.CfnVPCEndpoint).addPropertyOverride('ServiceRegion', serviceRegion);
    }
    this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(this.port) });
    this.admitClients(props, securityGroup);

    this.endpointId = this.endpoint.vpcEndpointId;
    const dns = this.createDnsName(props);
    this.dnsName = dns.dnsName;
    this.hostedZone = dns.hostedZone;
    this.proxyUrl = `http://${this.dnsName}:${this.port}`;
    this.clientSettings = ClientSettings.forProxyUrl(this.proxyUrl);
    if (props.outputs ?? false) this.addOutputs();
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

  /** The subnets of `subnets` (or the default selection); fails when they match none. */
  /**
   * The endpoint's ingress: `allowedCidrs` and `allowedPeers`, or the consumer VPC's CIDR block
   * when neither is given.
   */
  private admitClients(props: EgressProxyEndpointProps, securityGroup: ec2.SecurityGroup): void {
    const cidrs = (props.allowedCidrs ?? []).map((c) =>
      Token.isUnresolved(c) ? c : parseCidr(c, 'allowedCidrs entry').text,
    );
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
    const unresolved = ingress.filter((c) => Token.isUnresolved(c));
    if (
      unresolved.length > 0 &&
      unresolved.every((c) => c === props.vpc.vpcCidrBlock) &&
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
  }

  /** `dnsName` in a private hosted zone, or the endpoint's regional DNS name. */
  private createDnsName(props: EgressProxyEndpointProps): { dnsName: string; hostedZone?: route53.IPrivateHostedZone } {
    if (props.dnsName === undefined) {
      // Entries look like 'Z1HUB23UULQXV:vpce-….vpce-svc-….<region>.vpce.amazonaws.com'; the first is regional.
      return { dnsName: Fn.select(1, Fn.split(':', Fn.select(0, this.endpoint.vpcEndpointDnsEntries))) };
    }
    const name = props.dnsName.replace(/\.$/, '').toLowerCase();
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(name)) {
      throw new Error(
        `Invalid dnsName '${props.dnsName}': a host name with at least two labels, e.g. 'proxy.egress.internal'`,
      );
    }
    const hostedZone =
      props.hostedZone ??
      new route53.PrivateHostedZone(this, 'Zone', { vpc: props.vpc, zoneName: name.slice(name.indexOf('.') + 1) });
    new route53.ARecord(this, 'Record', {
      zone: hostedZone,
      recordName: `${name}.`,
      target: route53.RecordTarget.fromAlias(new targets.InterfaceVpcEndpointTarget(this.endpoint)),
    });
    return { dnsName: name, hostedZone };
  }

  /** The stack outputs `outputs: true` asks for. */
  private addOutputs(): void {
    new CfnOutput(this, 'ProxyUrl', {
      description: 'HTTPS_PROXY / HTTP_PROXY for clients of the egress proxy',
      value: this.proxyUrl,
    });
    new CfnOutput(this, 'ExportCommand', {
      description: 'Paste into a shell to send the AWS CLI and SDKs through the egress proxy',
      value: this.clientSettings.exportCommand(),
    });
  }

  private selectSubnets(props: EgressProxyEndpointProps, zones?: string[]): ec2.SubnetSelection {
    const base = props.subnets ?? defaultSubnets(props.vpc);
    const selection = zones === undefined ? base : { ...base, availabilityZones: zones };
    let selected: ec2.SelectedSubnets;
    try {
      selected = props.vpc.selectSubnets(selection);
    } catch (e) {
      throw new Error(`Invalid subnets: ${(e as Error).message}`);
    }
    if (selected.subnets.length === 0) {
      throw new Error(
        zones === undefined
          ? 'Invalid subnets: the selection matches no subnets of the consumer VPC'
          : `Invalid subnets: no subnet of the selection is in a zone the proxy service serves (${zones.join(', ')})`,
      );
    }
    return selection;
  }

  /**
   * Only zones the service serves can hold the endpoint. Compare the selected subnets' zones
   * with the service's, by name in the provider's own account or by AZ ID across accounts: the
   * default selection keeps only served zones, an explicit one that strays fails. When the facts
   * are not known at synth time, warn.
   */
  private placeInServedZones(props: EgressProxyEndpointProps, service: IEgressProxyService): ec2.SubnetSelection {
    const selection = this.selectSubnets(props);
    const names = zonesOf(props.vpc.selectSubnets(selection).subnets);
    const served = this.servedZoneNames(props, service);
    if (names === undefined || served === undefined) {
      Annotations.of(this).addWarningV2(
        'cdk-private-egress-proxy:azs-unchecked',
        "The endpoint subnets could not be checked against the provider's Availability Zones. Consumers can only use zones " +
          'the provider serves, matched by AZ ID (e.g. use1-az1), not by name: give the service its availabilityZoneIds ' +
          "(EgressProxyService.fromServiceAttributes) and this account's zoneMappings, or choose subnets in those zones yourself.",
      );
      return selection;
    }
    const outside = names.filter((z) => !served.names.includes(z));
    if (outside.length === 0) return selection;
    if ([...outside, ...served.names].some((z) => Token.isUnresolved(z))) {
      Annotations.of(this).addWarningV2(
        'cdk-private-egress-proxy:azs-unchecked',
        "The endpoint subnets' zones are known only at deploy time, so they could not be checked against the provider's.",
      );
      return selection;
    }
    if (props.subnets === undefined) return this.selectSubnets(props, served.names);
    throw new Error(
      `Invalid subnets: the endpoint would have network interfaces in ${outside.map(served.describe).join(', ')}, ` +
        `where the proxy service has no load balancer (it serves ${served.describeAll}); select subnets in those zones`,
    );
  }

  /** The names, in this account, of the zones the service serves; undefined when unknown. */
  private servedZoneNames(
    props: EgressProxyEndpointProps,
    service: IEgressProxyService,
  ): { names: string[]; describe: (name: string) => string; describeAll: string } | undefined {
    const mappings =
      props.zoneMappings === undefined
        ? undefined
        : AvailabilityZoneIds.parseMappings(props.zoneMappings, 'zoneMappings');
    // AZ names mean the same zone only within one account. Equal strings (tokens included, e.g.
    // the same VPC's zones) are the same zone.
    if (service instanceof EgressProxyProvider && service.account === Stack.of(this).account) {
      const names = service.availabilityZones;
      return { names, describe: (n) => n, describeAll: names.join(', ') };
    }
    const ids = service.availabilityZoneIds;
    if (mappings === undefined || !AvailabilityZoneIds.isKnown(ids)) return undefined;
    const idOf = new Map(mappings.map((m) => [m.zoneName, m.zoneId]));
    for (const name of zonesOf(props.vpc.selectSubnets(props.subnets ?? defaultSubnets(props.vpc)).subnets) ?? []) {
      if (!Token.isUnresolved(name) && !idOf.has(name)) {
        throw new Error(
          `Invalid zoneMappings: it has no entry for ${name}, a zone of the endpoint's subnets; list every zone of this account (name and AZ ID)`,
        );
      }
    }
    const names = mappings.filter((m) => ids.includes(m.zoneId)).map((m) => m.zoneName);
    return {
      names,
      describe: (n) => `${n} (${idOf.get(n)})`,
      describeAll: ids.join(', '),
    };
  }
}

/** The subnets' zone names, or undefined when an imported subnet does not know its zone. */
function zonesOf(subnets: ec2.ISubnet[]): string[] | undefined {
  try {
    return [...new Set(subnets.map((s) => s.availabilityZone))];
  } catch {
    return undefined;
  }
}

/** The service's Region when it differs from the consumer's (both known), else undefined. */
function crossRegion(serviceRegion: string, consumerRegion: string): string | undefined {
  if (Token.isUnresolved(serviceRegion) || Token.isUnresolved(consumerRegion)) return undefined;
  return serviceRegion === consumerRegion ? undefined : serviceRegion;
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.privateSubnets.length > 0
    ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }
    : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
}

/** The endpoint's port: `port` when given (it must be the service's), else the service's. */
function endpointPort(props: EgressProxyEndpointProps): number {
  const port = props.port ?? props.service.port;
  checkPort('port', port);
  if (props.port !== undefined && props.port !== props.service.port) {
    throw new Error(
      `Invalid port ${props.port}: the proxy service listens on ${props.service.port}; the endpoint must use the same port`,
    );
  }
  return port;
}
