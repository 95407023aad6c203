import { Annotations, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, IDependable } from 'constructs';

/** Where the provider's instances and load balancer go. */
export interface ProviderPlacement {
  /** The selection of the instances' subnets. */
  readonly subnetSelection: ec2.SubnetSelection;
  /** The load balancer's subnets: one per Availability Zone of the selection. */
  readonly loadBalancerSelection: ec2.SubnetSelection;
  /** The load balancer's subnets, resolved. */
  readonly loadBalancerSubnets: ec2.ISubnet[];
  /** The load balancer's Availability Zones (names; tokens in an environment-agnostic stack). */
  readonly availabilityZones: string[];
  /** Whether the instances get public IPv4 addresses (public subnets). */
  readonly associatePublicIpAddress: boolean;
  /** Completes when the selected subnets can reach the internet (NAT or internet-gateway routes). */
  readonly internetConnectivityEstablished: IDependable;
}

/** What {@link placeProvider} reads from the provider's props. */
export interface PlacementProps {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly allowSingleAz?: boolean;
  readonly associatePublicIpAddress?: boolean;
}

/**
 * Select and check the provider's subnets. The proxy must reach the internet, so isolated
 * subnets fail, and public subnets need the explicit `associatePublicIpAddress` opt-in (without
 * a public address an instance in a public subnet reaches nothing).
 */
export function placeProvider(scope: Construct, props: PlacementProps, warningPrefix: string): ProviderPlacement {
  const publicIp = props.associatePublicIpAddress ?? false;
  const subnetSelection = props.vpcSubnets ?? {
    subnetType: publicIp ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
  };
  let selected: ec2.SelectedSubnets;
  try {
    selected = props.vpc.selectSubnets(subnetSelection);
  } catch (e) {
    throw new Error(
      `Invalid vpcSubnets: ${(e as Error).message}. The proxy needs subnets with a route to the internet: ` +
        'private subnets with a NAT gateway (SubnetType.PRIVATE_WITH_EGRESS, the default) or public subnets with associatePublicIpAddress: true',
    );
  }
  const subnets = selected.subnets;
  if (subnets.length === 0) {
    throw new Error(
      'Invalid vpcSubnets: the selection matches no subnet of the VPC; the fleet needs subnets in at least two Availability Zones',
    );
  }
  checkRouteOut(props.vpc, subnets, publicIp);

  const zones = new Set(subnets.map((s, i) => availabilityZoneOf(s) ?? `unknown-${i}`));
  if (zones.size < 2) {
    if (!props.allowSingleAz) {
      throw new Error(
        `Invalid vpcSubnets: all ${subnets.length} selected subnet(s) are in one Availability Zone (${[...zones][0]}); ` +
          'select subnets in at least two zones, or set allowSingleAz: true to accept that a zone outage stops all egress',
      );
    }
    Annotations.of(scope).addWarningV2(
      `${warningPrefix}:singleAz`,
      'The egress proxy runs in a single Availability Zone: an outage of that zone stops all egress, and consumers can create endpoints only in that zone.',
    );
  }
  const loadBalancerSelection: ec2.SubnetSelection = { ...subnetSelection, onePerAz: true };
  const loadBalancerSubnets = props.vpc.selectSubnets(loadBalancerSelection).subnets;
  return {
    subnetSelection,
    loadBalancerSelection,
    loadBalancerSubnets,
    availabilityZones: loadBalancerSubnets.map(availabilityZoneOf).filter((z): z is string => z !== undefined),
    associatePublicIpAddress: publicIp,
    internetConnectivityEstablished: selected.internetConnectivityEstablished,
  };
}

/**
 * Isolated subnets have no route out; public ones need a public address on each instance. Subnets
 * the VPC does not classify (imported by ID) are taken as the user says.
 */
function checkRouteOut(vpc: ec2.IVpc, subnets: ec2.ISubnet[], publicIp: boolean): void {
  const ids = (list: ec2.ISubnet[]) => list.map((s) => s.subnetId).join(', ');
  const isolated = subnets.filter((s) => vpc.isolatedSubnets.includes(s));
  if (isolated.length > 0) {
    throw new Error(
      `Invalid vpcSubnets: ${ids(isolated)} ${isolated.length === 1 ? 'is an isolated subnet' : 'are isolated subnets'} ` +
        '(SubnetType.PRIVATE_ISOLATED) with no route to the internet, so the proxy could reach none of its allowed destinations. ' +
        'Select private subnets with a NAT gateway (SubnetType.PRIVATE_WITH_EGRESS, the default), ' +
        'or public subnets with associatePublicIpAddress: true',
    );
  }
  const pub = subnets.filter((s) => vpc.publicSubnets.includes(s));
  if (pub.length > 0 && !publicIp) {
    throw new Error(
      `Invalid vpcSubnets: ${ids(pub)} ${pub.length === 1 ? 'is a public subnet' : 'are public subnets'}, where an instance ` +
        'reaches the internet only with a public IPv4 address. Set associatePublicIpAddress: true to give each proxy instance one ' +
        '(its security group still admits only the load balancer), or select private subnets with a NAT gateway (SubnetType.PRIVATE_WITH_EGRESS)',
    );
  }
  if (publicIp && pub.length < subnets.length) {
    const others = subnets.filter((s) => !pub.includes(s));
    throw new Error(
      `Invalid associatePublicIpAddress true: ${ids(others)} ${others.length === 1 ? 'is not a public subnet' : 'are not public subnets'}; ` +
        'a public address is only useful in public subnets (vpcSubnets: { subnetType: SubnetType.PUBLIC })',
    );
  }
}

/** The subnet's Availability Zone, or undefined when an imported subnet does not know it. */
function availabilityZoneOf(subnet: ec2.ISubnet): string | undefined {
  try {
    return subnet.availabilityZone;
  } catch {
    return undefined;
  }
}

/**
 * The IPv4 CIDR of a subnet, or the VPC's when an imported subnet does not know its own
 * (a wider trust for PROXY protocol headers, still limited to the VPC).
 */
function subnetCidrOf(subnet: ec2.ISubnet, vpc: ec2.IVpc): string {
  try {
    return subnet.ipv4CidrBlock;
  } catch {
    try {
      return vpc.vpcCidrBlock;
    } catch {
      throw new Error(
        `Cannot limit PROXY protocol to the load balancer's subnets: subnet ${subnet.subnetId} and its VPC were imported without their CIDR blocks. ` +
          'Import them with ipv4CidrBlock / vpcCidrBlock, or set proxyProtocol: false.',
      );
    }
  }
}

/**
 * The CIDR blocks Squid trusts PROXY protocol headers from (the load balancer's subnets). A CIDR
 * that is a token (an imported subnet, or a VPC CIDR only known at deployment) cannot be checked
 * by the renderer: it renders a documentation-range placeholder, which {@link substitute} swaps
 * for the token afterwards; CloudFormation resolves it in the metadata.
 */
export class ProxyProtocolSources {
  /** The CIDRs to render (placeholders for tokens). */
  public readonly cidrs: string[];
  private readonly placeholders = new Map<string, string>();

  constructor(placement: ProviderPlacement, vpc: ec2.IVpc) {
    const cidrs = [...new Set(placement.loadBalancerSubnets.map((s) => subnetCidrOf(s, vpc)))];
    this.cidrs = cidrs.map((cidr) => {
      if (!Token.isUnresolved(cidr)) return cidr;
      const placeholder = `192.0.2.${this.placeholders.size + 1}/32`;
      this.placeholders.set(placeholder, cidr);
      return placeholder;
    });
  }

  /** Put the tokens back into rendered text. */
  public substitute(content: string): string {
    let out = content;
    for (const [placeholder, token] of this.placeholders) out = out.split(placeholder).join(token);
    return out;
  }
}
