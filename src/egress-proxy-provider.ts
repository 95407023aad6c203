import { createHash } from 'node:crypto';
import { Annotations, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { EgressPolicy } from './egress-policy';
import { IEgressProxyService } from './egress-proxy-service';
import { placeProvider, ProviderPlacement, ProxyProtocolSources } from './private/provider-placement';
import { ProviderSettings, resolveProviderSettings } from './private/provider-settings';
import { createDashboard } from './private/proxy-dashboard';
import { publishEndpointService } from './private/proxy-endpoint-service';
import { createFleet, sizeFleet } from './private/proxy-fleet';
import { SQUID_CONFIG_DIR, SQUID_LOG_DIR, SQUID_PID_FILE } from './private/proxy-host';
import { createLoadBalancer } from './private/proxy-load-balancer';
import { AlarmMetrics, createAlarms, createLogs, LogMetric } from './private/proxy-monitoring';
import { createSecurityGroups } from './private/proxy-security-groups';
import { ProxySizing } from './private/sizing';
import { SquidConfig, SquidConfigFile } from './squid-config';

/**
 * Options of an {@link EgressProxyProvider}: everything but the VPC and the policy.
 */
export interface EgressProxyProviderOptions {
  /**
   * Subnets of the instances and the load balancer. The load balancer takes one subnet per
   * Availability Zone; consumers can create endpoints only in the zones it spans.
   *
   * @default - the VPC's private subnets with egress (`SubnetType.PRIVATE_WITH_EGRESS`)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Allow a fleet in a single Availability Zone. A zone outage then stops all egress, and
   * consumers in other zones cannot create an endpoint; synthesis warns.
   *
   * @default false
   */
  readonly allowSingleAz?: boolean;

  /**
   * Run the instances in public subnets, each with a public IPv4 address, instead of private
   * subnets behind a NAT gateway. Their security group still admits only the load balancer.
   * Required when `vpcSubnets` selects public subnets (an instance there without a public
   * address reaches nothing); with no `vpcSubnets`, the VPC's public subnets are used.
   *
   * @default false
   */
  readonly associatePublicIpAddress?: boolean;

  /**
   * The instance type. A forward proxy that only splices TLS is bound first by network
   * bandwidth and then by memory per tunnel (the library caps each instance's tunnels by its
   * memory, see `maxConnectionsPerInstance`), hardly by CPU, so the default is the type with the
   * most sustained bandwidth per dollar: `c7gn.medium` (Graviton3E, 1 vCPU, 2 GiB, 3.125 Gbps sustained, about $0.062/hour in
   * us-east-1) sustains roughly 25 times the bandwidth of a `t4g.small` for under four times the
   * price, with no CPU credits to run out of. Where `c7gn` is not offered, `c6gn.medium`
   * (1.6 Gbps) is the next best; `t4g.small` suits idle or test fleets.
   *
   * @default - `c7gn.medium`
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The machine image. The instance set-up expects Amazon Linux 2023, standard or minimal: dnf
   * with the AL2023 repositories (it installs `squid`, `openssl`, `nftables` and
   * `amazon-cloudwatch-agent`, and `aws-cfn-bootstrap` when the image lacks it, as the minimal
   * images do), systemd, and `/dev/xvda` as root device. Pass an image to pin a specific AL2023
   * release; an image of another distribution must provide all of these.
   *
   * @default - the latest Amazon Linux 2023 for the instance type's architecture, resolved at
   * deploy time from its public SSM parameter (no context lookup, no credentials at synth)
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * The fewest instances. Keep at least one per Availability Zone.
   *
   * @default 2
   */
  readonly minCapacity?: number;

  /**
   * The most instances. Must exceed the capacity kept during a rolling update
   * (`desiredCapacity` or `minCapacity`), so new instances start before old ones stop.
   *
   * @default - 4, or `minCapacity` when that is larger
   */
  readonly maxCapacity?: number;

  /**
   * A fixed instance count. Setting it resets the group's size on every deployment, overriding
   * what scaling decided; leave it unset and let target tracking decide.
   *
   * @default - `minCapacity` at creation, then target tracking
   */
  readonly desiredCapacity?: number;

  /**
   * Average CPU utilisation, in percent, that target-tracking scaling keeps the fleet at.
   *
   * @default 50
   */
  readonly targetCpuUtilizationPercent?: number;

  /**
   * Squid worker processes per instance (SMP).
   *
   * @default - one per vCPU of `instanceType` (read from its size: `medium` 1, `large` 2,
   * `xlarge` 4, …), or 1 when the size is not recognised
   */
  readonly squidWorkers?: number;

  /**
   * The TCP port of the proxy, on the load balancer, the endpoint and the instances. The load
   * balancer checks the instances' health on the next port (`port + 1`; 65534 for 65535), which
   * each instance redirects to Squid past its connection cap.
   *
   * @default 3128
   */
  readonly port?: number;

  /**
   * Concurrent connections (tunnels) one instance accepts; a client over the cap gets a TCP reset
   * at once. The default is what fits in the instance type's memory once every tunnel has
   * carried data (Squid keeps that memory), at most an NLB target's 55,000, so the kernel never
   * kills Squid for lack of memory; the README's sizing table lists it by instance type. Set it
   * for an instance type the library's table does not know (synthesis warns), or lower it.
   * 1–55,000.
   *
   * @default - derived from the instance type's memory (c7gn.medium: 6,553)
   */
  readonly maxConnectionsPerInstance?: number;

  /**
   * DNS servers Squid resolves destination names with, instead of the VPC's resolver. The
   * instances' security group then allows port 53 over UDP and TCP to each of them.
   *
   * @default - the VPC's resolver (from the instance's /etc/resolv.conf)
   */
  readonly dnsServers?: string[];

  /**
   * Send PROXY protocol v2 from the load balancer to Squid. It carries the client's address and
   * VPC endpoint ID, which the policy's `sourceCidrs` and `allowedEndpointIds` and the access
   * log need: behind PrivateLink, Squid otherwise sees only the load balancer's addresses. Squid
   * accepts the header only from the load balancer's subnets.
   *
   * Turning it on or off takes effect on the load balancer at once and on the instances at the
   * next reload (about a minute later): requests fail in between, so change it in a quiet hour.
   *
   * @default true
   */
  readonly proxyProtocol?: boolean;

  /**
   * How long the load balancer keeps sending an instance's open connections to it after
   * deregistering it (scale-in, rolling update) before the instance stops. Squid's
   * `shutdown_lifetime` is set to the same value. Raise it for long-lived tunnels; it lengthens
   * every instance replacement. 0–3600 seconds.
   *
   * @default Duration.seconds(60)
   */
  readonly deregistrationDelay?: Duration;

  /**
   * How long the load balancer keeps an idle TCP connection (a quiet tunnel) open. 60–6000 seconds.
   *
   * @default Duration.seconds(350)
   */
  readonly idleTimeout?: Duration;

  /**
   * Principals (accounts, roles, users) allowed to create endpoints to the service.
   * `allowedAccounts` adds whole accounts.
   *
   * @default - only this stack's account, unless `allowedAccounts` is given
   */
  readonly allowedPrincipals?: iam.ArnPrincipal[];

  /**
   * AWS account IDs (12 digits) allowed to create endpoints to the service.
   *
   * @default - only this stack's account, unless `allowedPrincipals` is given
   */
  readonly allowedAccounts?: string[];

  /**
   * Regions from which consumers may connect (cross-Region PrivateLink), e.g. `['eu-west-1']`.
   *
   * @default - only the service's own Region
   */
  readonly allowedRegions?: string[];

  /**
   * Require the service owner to accept each new endpoint connection. With it, account A
   * accepts account B's endpoint once (console: VPC > Endpoint services > Endpoint connections >
   * Accept; CLI: `aws ec2 accept-vpc-endpoint-connections --service-id <id> --vpc-endpoint-ids <vpce-id>`).
   * Turn it off only when the allowed principals alone should decide who connects.
   *
   * @default true
   */
  readonly acceptanceRequired?: boolean;

  /**
   * Publish the endpoint service name to an SSM String parameter of this name, for consumer
   * stacks in this account and Region.
   *
   * @default - not published
   */
  readonly serviceNameParameterName?: string;

  /**
   * Publish what a consumer needs to SSM String parameters under this path, e.g.
   * `/egress-proxy`: `<prefix>/service-name`, `<prefix>/port`, `<prefix>/region` and
   * `<prefix>/availability-zone-ids` (a StringList of the load balancer's AZ IDs). Consumer
   * stacks in this account and Region read them with `EgressProxyService.fromSsmParameters`;
   * for another account, copy the values there or into its code.
   *
   * @default - no parameters are written
   */
  readonly ssmParameterPrefix?: string;

  /**
   * How long CloudWatch Logs keeps the proxy's logs (access log with every decision, Squid's
   * cache log, cfn-init and cfn-hup logs).
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The CloudWatch namespace of the access-log metrics (denied, audited requests) and of rejected reloads.
   *
   * @default - `EgressProxy/` followed by this construct's unique ID
   */
  readonly metricNamespace?: string;

  /**
   * Where the alarms (unhealthy instances, a spike of denied requests, a rejected configuration
   * reload) send notifications.
   *
   * @default - no alarms are created
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;

  /**
   * Denied requests in five minutes that raise the denied-requests alarm (with `alarmAction`).
   *
   * @default 100
   */
  readonly deniedRequestsAlarmThreshold?: number;

  /**
   * Create a CloudWatch dashboard of the proxy: requests per minute and by rule, denied and
   * audited requests, the top consumers by VPC endpoint ID (Logs Insights over the access log),
   * tunnels and bytes through the load balancer, healthy instances per Availability Zone, CPU and
   * network per instance (the fleet average and the hottest instance), rejected reloads (and the alarms, with `alarmAction`). Also saves three
   * Logs Insights queries (top denied destinations, denials per consumer, traffic per consumer)
   * under `EgressProxy/<construct unique ID>/` in the console's query list.
   *
   * @default false
   */
  readonly dashboard?: boolean;
}

/**
 * Properties of an {@link EgressProxyProvider}.
 */
export interface EgressProxyProviderProps extends EgressProxyProviderOptions {
  /**
   * The VPC of the proxy fleet and its load balancer. The instances need a route to the
   * internet (a NAT gateway) to reach the allowlisted destinations.
   */
  readonly vpc: ec2.IVpc;

  /**
   * What the proxy may reach, and from where.
   */
  readonly policy: EgressPolicy;
}

const WARNING_PREFIX = 'cdk-private-egress-proxy';

/**
 * The provider side of the egress proxy: a Squid fleet on an Auto Scaling group behind an
 * internal Network Load Balancer, published as a PrivateLink endpoint service.
 *
 * Instances run Amazon Linux 2023 from a launch template (IMDSv2 only, hop limit 1, encrypted
 * gp3 root volume, no key pair; Session Manager for access). CloudFormation::Init installs
 * Squid with the configuration {@link SquidConfig} renders from the policy, and each instance
 * signals CloudFormation only after `squid -k parse` passes and Squid listens. The CloudWatch
 * agent ships Squid's logs to {@link logGroup}.
 *
 * **What a change does to running instances.**
 * - Reloaded in place, within about a minute of the stack update, without dropping tunnels:
 *   the policy (allowed domains, ports, plain HTTP, source CIDRs, endpoint IDs, mode),
 *   `proxyProtocol`, `deregistrationDelay` (Squid's `shutdown_lifetime`), `dnsServers` and the
 *   subnets' CIDRs.
 *   cfn-hup sees the new CloudFormation::Init metadata and re-runs the `reload` config set: the
 *   new files are staged, installed, checked with `squid -k parse` and applied with
 *   `squid -k reconfigure`. A configuration that fails the check is rolled back and the old
 *   one keeps serving; the failure is in the `cfn-init-cmd.log` stream of the log group and
 *   in {@link metricReloadFailures}.
 * - Rolled out by replacing instances one at a time (new ones must signal before old ones go):
 *   `instanceType`, `machineImage` (including a new AL2023 release picked up by the default
 *   image's SSM parameter at deployment), `port`, `squidWorkers`, `maxConnectionsPerInstance` (the
 *   host's connection cap and descriptor limit), and any change to the instance
 *   set-up in a new version of this library.
 * - Applied to AWS resources only: capacity, scaling, `idleTimeout`, the endpoint service's
 *   principals, Regions and acceptance, log retention, alarms.
 *
 * @example
 * const proxy = new EgressProxyProvider(this, 'EgressProxy', {
 *   vpc,
 *   policy: new EgressPolicy({ allowedDomains: ['sts.us-east-1.amazonaws.com'] }),
 *   allowedAccounts: ['210987654321'],
 * });
 */
export class EgressProxyProvider extends Construct implements ec2.IConnectable, IEgressProxyService {
  /**
   * The CloudWatch Logs filter pattern that counts denied requests: access-log lines whose rule
   * is not `allowlisted` (audit-mode lines marked `audit=would-deny` were let through and are
   * not counted).
   */
  public static readonly DENIED_REQUESTS_FILTER_PATTERN =
    '" rule=" -" rule=allowlisted" -" rule=-" -"audit=would-deny"';

  /**
   * The CloudWatch Logs filter pattern that counts requests audit mode let through but enforce
   * mode would deny.
   */
  public static readonly AUDITED_REQUESTS_FILTER_PATTERN = '"audit=would-deny"';

  /**
   * The CloudWatch Logs filter pattern that counts rejected reloads: the control script's
   * message when `squid -k parse` rejects a new configuration (kept out of service).
   */
  public static readonly RELOAD_FAILURES_FILTER_PATTERN = '"squid -k parse rejected the new configuration"';

  /** The policy the proxy enforces. */
  public readonly policy: EgressPolicy;
  /** The proxy port. */
  public readonly port: number;
  /**
   * The Availability Zones of the load balancer: consumers can create endpoints only in these
   * zones (matched across accounts by zone ID). Names may be tokens in an environment-agnostic stack.
   */
  public readonly availabilityZones: string[];
  /** The Squid fleet. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The instances' launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The instances' role. */
  public readonly role: iam.IRole;
  /** The instances' security group: the proxy port is open to the load balancer only. */
  public readonly instanceSecurityGroup: ec2.ISecurityGroup;
  /** The internal Network Load Balancer. */
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** The load balancer's TCP listener on the proxy port. */
  public readonly listener: elbv2.NetworkListener;
  /** The target group of the instances. */
  public readonly targetGroup: elbv2.NetworkTargetGroup;
  /** The PrivateLink endpoint service. */
  public readonly endpointService: ec2.VpcEndpointService;
  /** The endpoint service name consumers connect to (`com.amazonaws.vpce.<region>.vpce-svc-…`). */
  public readonly endpointServiceName: string;
  /**
   * The AZ IDs (`euw1-az1`) of the load balancer's zones, the only zones where consumers in any
   * account can create endpoints. Deploy-time values (the subnets' `AvailabilityZoneId`): put
   * them in a stack output or `ssmParameterPrefix` for consumers in other accounts. Undefined
   * when the subnets were imported.
   */
  public readonly availabilityZoneIds?: string[];
  /** The provider's Region (a token in an environment-agnostic stack). */
  public readonly region: string;
  /** The provider's account (a token in an environment-agnostic stack). */
  public readonly account: string;
  /** The SSM parameter holding the service name, when `serviceNameParameterName` is set. */
  public readonly serviceNameParameter?: ssm.IStringParameter;
  /** The log group of Squid's access and cache logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The CloudWatch namespace of the access-log metrics (denied, audited requests) and of rejected reloads. */
  public readonly metricNamespace: string;
  /**
   * The load balancer's security group, with the proxy port as default port: allow in-VPC
   * clients with `connections.allowDefaultPortFrom(...)`. PrivateLink traffic is not filtered by
   * it: the endpoint service's principals and acceptance, the consumer endpoint's security group
   * and the policy's `sourceCidrs` and `allowedEndpointIds` govern that.
   */
  public readonly connections: ec2.Connections;
  /** Alarm on unhealthy instances, when `alarmAction` is set. */
  public readonly unhealthyHostsAlarm?: cloudwatch.IAlarm;
  /** Alarm on a spike of denied requests, when `alarmAction` is set. */
  public readonly deniedRequestsAlarm?: cloudwatch.IAlarm;
  /** Alarm on a configuration reload that `squid -k parse` rejected, when `alarmAction` is set. */
  public readonly reloadFailuresAlarm?: cloudwatch.IAlarm;

  /**
   * @param scope the parent construct
   * @param id the construct ID; it is part of every resource's logical ID, so changing it replaces the fleet, load balancer and endpoint service
   * @param props the properties
   */
  constructor(scope: Construct, id: string, props: EgressProxyProviderProps) {
    super(scope, id);
    const settings = resolveProviderSettings(props);
    this.policy = props.policy;
    this.port = settings.port;
    const placement = placeProvider(this, props, WARNING_PREFIX);
    this.availabilityZones = placement.availabilityZones;
    this.reportPolicyWarnings();
    const sizing = sizeFleet(this, settings, props.maxConnectionsPerInstance, WARNING_PREFIX);
    const squid = renderSquid(this, props, settings, placement, sizing);

    const proxyLogs = createLogs(this, {
      retention: props.logRetention,
      metricNamespace: props.metricNamespace,
      metrics: ACCESS_LOG_METRICS,
    });
    this.logGroup = proxyLogs.logGroup;
    this.metricNamespace = proxyLogs.metricNamespace;

    const groups = createSecurityGroups(this, props.vpc, settings.port, props.policy);
    this.instanceSecurityGroup = groups.instances;
    this.connections = new ec2.Connections({
      securityGroups: [groups.loadBalancer],
      defaultPort: ec2.Port.tcp(settings.port),
    });

    const fleet = createFleet(this, {
      ...squid,
      sizing,
      vpc: props.vpc,
      placement,
      settings,
      securityGroup: groups.instances,
      logGroup: this.logGroup,
      warningPrefix: WARNING_PREFIX,
    });
    this.role = fleet.role;
    this.launchTemplate = fleet.launchTemplate;
    this.autoScalingGroup = fleet.autoScalingGroup;

    const lb = createLoadBalancer(this, {
      ...settings,
      vpc: props.vpc,
      subnets: placement.loadBalancerSelection,
      securityGroup: groups.loadBalancer,
      fleet: fleet.autoScalingGroup,
    });
    this.targetGroup = lb.targetGroup;
    this.loadBalancer = lb.loadBalancer;
    this.listener = lb.listener;

    const service = publishEndpointService(this, {
      ...props,
      loadBalancer: lb.loadBalancer,
      subnets: placement.loadBalancerSubnets,
      port: settings.port,
    });
    this.endpointService = service.endpointService;
    this.endpointServiceName = service.endpointService.vpcEndpointServiceName;
    this.availabilityZoneIds = service.availabilityZoneIds;
    this.region = Stack.of(this).region;
    this.account = Stack.of(this).account;
    this.serviceNameParameter = service.serviceNameParameter;

    if (props.alarmAction) {
      const alarms = createAlarms(this, this.alarmMetrics(), props.alarmAction, settings.deniedRequestsAlarmThreshold);
      this.unhealthyHostsAlarm = alarms.unhealthyHosts;
      this.deniedRequestsAlarm = alarms.deniedRequests;
      this.reloadFailuresAlarm = alarms.reloadFailures;
    }
    if (props.dashboard) createDashboard(this);
  }

  /**
   * Requests the policy denied, from the access log (sum over 5 minutes by default).
   */
  public metricDeniedRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricNamespace,
      metricName: 'DeniedRequests',
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /**
   * Requests audit mode let through that enforce mode would deny (sum over 5 minutes by default).
   */
  public metricAuditedRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricNamespace,
      metricName: 'AuditedRequests',
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /**
   * Configuration reloads that `squid -k parse` rejected: the instances kept their previous
   * configuration (sum over 5 minutes by default; one rejection may log more than one line).
   */
  public metricReloadFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricNamespace,
      metricName: 'ReloadFailures',
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /**
   * Concurrent connections (tunnels) through the load balancer (average over 5 minutes by default).
   */
  public metricActiveConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.activeFlowCount(props);
  }

  /**
   * Instances failing the load balancer health check (maximum over 5 minutes by default).
   */
  public metricUnhealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Instances passing the load balancer health check (minimum over 5 minutes by default).
   */
  public metricHealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  private alarmMetrics(): AlarmMetrics {
    return {
      unhealthyHosts: this.metricUnhealthyHosts(),
      deniedRequests: this.metricDeniedRequests(),
      reloadFailures: this.metricReloadFailures(),
    };
  }

  /** Each warning of the policy (duplicates, public-suffix wildcards, audit mode) as a synth warning. */
  private reportPolicyWarnings(): void {
    for (const warning of this.policy.warnings) {
      const key = createHash('sha256').update(warning).digest('hex').slice(0, 8);
      Annotations.of(this).addWarningV2(`${WARNING_PREFIX}:policy-${key}`, warning);
    }
  }
}

/** The access-log metrics and the filter patterns that count them. */
const ACCESS_LOG_METRICS: LogMetric[] = [
  {
    id: 'DeniedRequestsFilter',
    metricName: 'DeniedRequests',
    filterPattern: EgressProxyProvider.DENIED_REQUESTS_FILTER_PATTERN,
    zeroWhenAbsent: true,
  },
  {
    id: 'AuditedRequestsFilter',
    metricName: 'AuditedRequests',
    filterPattern: EgressProxyProvider.AUDITED_REQUESTS_FILTER_PATTERN,
    zeroWhenAbsent: true,
  },
  {
    id: 'ReloadFailuresFilter',
    metricName: 'ReloadFailures',
    filterPattern: EgressProxyProvider.RELOAD_FAILURES_FILTER_PATTERN,
    zeroWhenAbsent: false,
  },
];

/**
 * Squid's configuration for the instances, trusting PROXY protocol headers from the load
 * balancer's subnets only.
 */
function renderSquid(
  scope: Construct,
  props: EgressProxyProviderProps,
  settings: ProviderSettings,
  placement: ProviderPlacement,
  sizing: ProxySizing,
): { squidFiles: SquidConfigFile[] } {
  const ppv2 = settings.proxyProtocol ? new ProxyProtocolSources(placement, props.vpc) : undefined;
  const squid = SquidConfig.render(props.policy, {
    port: settings.port,
    vcpus: settings.squidWorkers,
    maxFileDescriptors: sizing.maxFileDescriptors,
    dnsNameservers: settings.dnsServers,
    proxyProtocolSources: ppv2?.cidrs,
    providerVpcCidrs: providerVpcCidrs(scope, props.vpc),
    configDirectory: SQUID_CONFIG_DIR,
    logDirectory: SQUID_LOG_DIR,
    pidFile: SQUID_PID_FILE,
    shutdownLifetime: settings.deregistrationDelay,
  });
  return {
    squidFiles: squid.files.map((f) => ({ ...f, content: ppv2 ? ppv2.substitute(f.content) : f.content })),
  };
}

/**
 * The provider VPC's own address space, refused as a destination in every mode (the fleet, its
 * load balancer and the provider's own services live there): the primary IPv4 block, the IPv6
 * blocks of a dual-stack VPC (public addresses, which the private-destination rule does not
 * cover) and secondary IPv4 blocks added under the VPC construct. Values resolve at deployment.
 * An imported VPC without its CIDR gets no such rule, and synthesis warns.
 */
function providerVpcCidrs(scope: Construct, vpc: ec2.IVpc): string[] | undefined {
  let primary: string;
  try {
    primary = vpc.vpcCidrBlock;
  } catch {
    Annotations.of(scope).addWarningV2(
      `${WARNING_PREFIX}:provider-vpc-unknown`,
      'The provider VPC was imported without its CIDR block, so the proxy cannot refuse destinations inside it by address: addresses in private space are still refused (to-private), but a VPC in public address space is not. Import the VPC with vpcCidrBlock.',
    );
    return undefined;
  }
  const blocks = [primary];
  if (vpc instanceof ec2.Vpc) {
    const extra = vpc.node.findAll().filter((c): c is ec2.CfnVPCCidrBlock => c instanceof ec2.CfnVPCCidrBlock);
    for (const b of extra) if (b.cidrBlock !== undefined) blocks.push(b.cidrBlock);
    if (extra.some((b) => b.amazonProvidedIpv6CidrBlock || b.ipv6CidrBlock || b.ipv6Pool)) {
      blocks.push(Fn.join(' ', vpc.vpcIpv6CidrBlocks));
    }
  }
  return blocks;
}
