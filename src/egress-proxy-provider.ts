import { createHash } from 'node:crypto';
import { Annotations, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { EgressPolicy } from './egress-policy';
import { vcpusOfInstanceType } from './private/instance-size';
import { acknowledgeNagFindings } from './private/nag';
import {
  buildProxyHostInit,
  INSTALL_CONFIG_SET,
  SQUID_CONFIG_DIR,
  SQUID_LOG_DIR,
  SQUID_PID_FILE,
} from './private/proxy-host';
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
   * The instance type. A forward proxy that only splices TLS is bound by network bandwidth,
   * not CPU or memory, so the default is the type with the most sustained bandwidth per dollar:
   * `c7gn.medium` (Graviton3E, 1 vCPU, 2 GiB, 3.125 Gbps sustained, about $0.062/hour in
   * us-east-1) sustains roughly 25 times the bandwidth of a `t4g.small` for under four times the
   * price, with no CPU credits to run out of. Where `c7gn` is not offered, `c6gn.medium`
   * (1.6 Gbps) is the next best; `t4g.small` suits idle or test fleets.
   *
   * @default - `c7gn.medium`
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The machine image. The instance set-up expects Amazon Linux 2023 (dnf, systemd, the `squid`
   * package, `/dev/xvda` as root device); pass an image to pin a specific AL2023 release.
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
   * @default 4
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
   * The TCP port of the proxy, on the load balancer, the endpoint and the instances.
   *
   * @default 3128
   */
  readonly port?: number;

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
   * Require the service owner to accept each new endpoint connection.
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
   * How long CloudWatch Logs keeps the proxy's logs (access log with every decision, Squid's
   * cache log, cfn-init and cfn-hup logs).
   *
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The CloudWatch namespace of the denied-request metrics.
   *
   * @default - `EgressProxy/` followed by this construct's unique ID
   */
  readonly metricNamespace?: string;

  /**
   * Where the alarms (unhealthy instances, a spike of denied requests) send notifications.
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
 *   `proxyProtocol`, `deregistrationDelay` (Squid's `shutdown_lifetime`) and the subnets' CIDRs.
 *   cfn-hup sees the new CloudFormation::Init metadata and re-runs the `reload` config set: the
 *   new files are staged, installed, checked with `squid -k parse` and applied with
 *   `squid -k reconfigure`. A configuration that fails the check is rolled back and the old
 *   one keeps serving; the failure is in the `cfn-init-cmd.log` stream of the log group and
 *   in {@link metricReloadFailures}.
 * - Rolled out by replacing instances one at a time (new ones must signal before old ones go):
 *   `instanceType`, `machineImage` (including a new AL2023 release picked up by the default
 *   image's SSM parameter at deployment), `port`, `squidWorkers`, and any change to the instance
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
export class EgressProxyProvider extends Construct implements ec2.IConnectable {
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
  /** The SSM parameter holding the service name, when `serviceNameParameterName` is set. */
  public readonly serviceNameParameter?: ssm.IStringParameter;
  /** The log group of Squid's access and cache logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The CloudWatch namespace of the denied-request metrics. */
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
    const stack = Stack.of(this);
    this.policy = props.policy;

    // ---- validation ------------------------------------------------------------------------
    this.port = props.port ?? 3128;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new Error(`Invalid port ${this.port}: the proxy port must be a whole number from 1 to 65535`);
    }
    const minCapacity = props.minCapacity ?? 2;
    const maxCapacity = props.maxCapacity ?? Math.max(4, minCapacity);
    const desiredCapacity = props.desiredCapacity;
    for (const [name, value] of [
      ['minCapacity', minCapacity],
      ['maxCapacity', maxCapacity],
      ['desiredCapacity', desiredCapacity],
    ] as Array<[string, number | undefined]>) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new Error(`Invalid ${name} ${value}: expected a whole number of at least 1`);
      }
    }
    if (minCapacity > maxCapacity) {
      throw new Error(`Invalid capacity: minCapacity ${minCapacity} is above maxCapacity ${maxCapacity}`);
    }
    if (desiredCapacity !== undefined && (desiredCapacity < minCapacity || desiredCapacity > maxCapacity)) {
      throw new Error(
        `Invalid desiredCapacity ${desiredCapacity}: it must lie between minCapacity ${minCapacity} and maxCapacity ${maxCapacity}`,
      );
    }
    const cpuTarget = props.targetCpuUtilizationPercent ?? 50;
    if (!(cpuTarget > 0 && cpuTarget <= 100)) {
      throw new Error(
        `Invalid targetCpuUtilizationPercent ${cpuTarget}: expected a percentage above 0 and at most 100`,
      );
    }
    const deregistrationDelay = props.deregistrationDelay ?? Duration.seconds(60);
    const delaySeconds = deregistrationDelay.toSeconds();
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 3600) {
      throw new Error(
        `Invalid deregistrationDelay ${delaySeconds} s: the load balancer accepts 0 to 3600 whole seconds`,
      );
    }
    const idleTimeout = props.idleTimeout ?? Duration.seconds(350);
    const idleSeconds = idleTimeout.toSeconds();
    if (!Number.isInteger(idleSeconds) || idleSeconds < 60 || idleSeconds > 6000) {
      throw new Error(`Invalid idleTimeout ${idleSeconds} s: the load balancer accepts 60 to 6000 whole seconds`);
    }
    for (const account of props.allowedAccounts ?? []) {
      if (!Token.isUnresolved(account) && !/^\d{12}$/.test(account)) {
        throw new Error(`Invalid allowedAccounts entry '${account}': an AWS account ID is 12 digits`);
      }
    }
    for (const region of props.allowedRegions ?? []) {
      if (!Token.isUnresolved(region) && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
        throw new Error(`Invalid allowedRegions entry '${region}': expected a Region name such as 'eu-west-1'`);
      }
    }
    if (props.serviceNameParameterName !== undefined && !Token.isUnresolved(props.serviceNameParameterName)) {
      if (!/^\/?[A-Za-z0-9_.\-/]+$/.test(props.serviceNameParameterName)) {
        throw new Error(
          `Invalid serviceNameParameterName '${props.serviceNameParameterName}': SSM parameter names use letters, digits, '.', '-', '_' and '/'`,
        );
      }
    }
    const alarmThreshold = props.deniedRequestsAlarmThreshold ?? 100;
    if (!(alarmThreshold >= 1)) {
      throw new Error(`Invalid deniedRequestsAlarmThreshold ${alarmThreshold}: expected at least 1`);
    }

    // ---- subnets and zones -----------------------------------------------------------------
    const subnetSelection = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    let subnets: ec2.ISubnet[];
    try {
      subnets = props.vpc.selectSubnets(subnetSelection).subnets;
    } catch (e) {
      throw new Error(`Invalid vpcSubnets: ${(e as Error).message}`);
    }
    if (subnets.length === 0) {
      throw new Error(
        'Invalid vpcSubnets: the selection matches no subnet of the VPC; the fleet needs subnets in at least two Availability Zones',
      );
    }
    const zones = new Set(subnets.map((s, i) => availabilityZoneOf(s) ?? `unknown-${i}`));
    if (zones.size < 2) {
      if (!props.allowSingleAz) {
        throw new Error(
          `Invalid vpcSubnets: all ${subnets.length} selected subnet(s) are in one Availability Zone (${[...zones][0]}); ` +
            'select subnets in at least two zones, or set allowSingleAz: true to accept that a zone outage stops all egress',
        );
      }
      Annotations.of(this).addWarningV2(
        `${WARNING_PREFIX}:singleAz`,
        'The egress proxy runs in a single Availability Zone: an outage of that zone stops all egress, and consumers can create endpoints only in that zone.',
      );
    }
    const lbSelection: ec2.SubnetSelection = { ...subnetSelection, onePerAz: true };
    const lbSubnets = props.vpc.selectSubnets(lbSelection).subnets;
    this.availabilityZones = lbSubnets.map(availabilityZoneOf).filter((z): z is string => z !== undefined);

    for (const warning of props.policy.warnings) {
      const key = createHash('sha256').update(warning).digest('hex').slice(0, 8);
      Annotations.of(this).addWarningV2(`${WARNING_PREFIX}:policy-${key}`, warning);
    }

    // ---- instance type, image, Squid configuration -----------------------------------------
    const instanceType = props.instanceType ?? new ec2.InstanceType('c7gn.medium');
    const machineImage =
      props.machineImage ??
      ec2.MachineImage.latestAmazonLinux2023({
        cpuType:
          instanceType.architecture === ec2.InstanceArchitecture.ARM_64
            ? ec2.AmazonLinuxCpuType.ARM_64
            : ec2.AmazonLinuxCpuType.X86_64,
      });
    const workers = props.squidWorkers ?? vcpusOfInstanceType(instanceType.toString()) ?? 1;
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
      throw new Error(`Invalid squidWorkers ${workers}: expected a whole number from 1 to 64`);
    }
    const proxyProtocol = props.proxyProtocol ?? true;

    // Squid trusts PROXY protocol headers only from the load balancer's subnets. A CIDR that is
    // a token (an imported subnet, or a VPC CIDR only known at deployment) cannot be validated
    // by the renderer: it renders a documentation-range placeholder that is then swapped for
    // the token, which CloudFormation resolves in the metadata.
    const placeholders = new Map<string, string>();
    let ppv2Sources: string[] | undefined;
    if (proxyProtocol) {
      const cidrs = [...new Set(lbSubnets.map((s) => subnetCidrOf(s, props.vpc)))];
      ppv2Sources = cidrs.map((cidr) => {
        if (!Token.isUnresolved(cidr)) return cidr;
        const placeholder = `192.0.2.${placeholders.size + 1}/32`;
        placeholders.set(placeholder, cidr);
        return placeholder;
      });
    }
    const squid = SquidConfig.render(props.policy, {
      port: this.port,
      vcpus: workers,
      proxyProtocolSources: ppv2Sources,
      configDirectory: SQUID_CONFIG_DIR,
      logDirectory: SQUID_LOG_DIR,
      pidFile: SQUID_PID_FILE,
      shutdownLifetime: deregistrationDelay,
    });
    const squidFiles: SquidConfigFile[] = squid.files.map((f) => {
      let content = f.content;
      for (const [placeholder, token] of placeholders) content = content.split(placeholder).join(token);
      return { ...f, content };
    });

    // ---- logs --------------------------------------------------------------------------------
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    });
    this.logGroup = logGroup;
    this.metricNamespace = props.metricNamespace ?? `EgressProxy/${Names.uniqueId(this)}`;
    new logs.MetricFilter(this, 'DeniedRequestsFilter', {
      logGroup,
      filterPattern: logs.FilterPattern.literal(EgressProxyProvider.DENIED_REQUESTS_FILTER_PATTERN),
      metricNamespace: this.metricNamespace,
      metricName: 'DeniedRequests',
      metricValue: '1',
      defaultValue: 0,
      unit: cloudwatch.Unit.COUNT,
    });
    new logs.MetricFilter(this, 'AuditedRequestsFilter', {
      logGroup,
      filterPattern: logs.FilterPattern.literal(EgressProxyProvider.AUDITED_REQUESTS_FILTER_PATTERN),
      metricNamespace: this.metricNamespace,
      metricName: 'AuditedRequests',
      metricValue: '1',
      defaultValue: 0,
      unit: cloudwatch.Unit.COUNT,
    });
    new logs.MetricFilter(this, 'ReloadFailuresFilter', {
      logGroup,
      filterPattern: logs.FilterPattern.literal(EgressProxyProvider.RELOAD_FAILURES_FILTER_PATTERN),
      metricNamespace: this.metricNamespace,
      metricName: 'ReloadFailures',
      metricValue: '1',
      unit: cloudwatch.Unit.COUNT,
    });

    // ---- security groups ---------------------------------------------------------------------
    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      description: 'Egress proxy load balancer: clients in, proxy port out to the instances',
      allowAllOutbound: false,
    });
    const instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: 'Egress proxy instances: proxy port from the load balancer only',
      allowAllOutbound: false,
    });
    this.instanceSecurityGroup = instanceSecurityGroup;
    instanceSecurityGroup.connections.allowFrom(
      lbSecurityGroup,
      ec2.Port.tcp(this.port),
      'Proxy traffic and health checks from the egress proxy load balancer',
    );
    // Destinations of the policy, plus HTTPS for the AWS APIs the instances use (SSM,
    // CloudFormation, CloudWatch Logs, S3, the Amazon Linux package repositories).
    const egressPorts = new Set([443, ...props.policy.ports, ...(props.policy.allowPlainHttp ? [80] : [])]);
    for (const p of [...egressPorts].sort((a, b) => a - b)) {
      instanceSecurityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(p),
        `Egress to allowed destinations on ${p}`,
      );
      instanceSecurityGroup.addEgressRule(
        ec2.Peer.anyIpv6(),
        ec2.Port.tcp(p),
        `Egress to allowed destinations on ${p}`,
      );
    }
    this.connections = new ec2.Connections({
      securityGroups: [lbSecurityGroup],
      defaultPort: ec2.Port.tcp(this.port),
    });

    // ---- instances -----------------------------------------------------------------------------
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Egress proxy instances: Session Manager, cfn-init, CloudWatch agent',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    this.role = role;
    logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:DescribeLogStreams'], resources: [logGroup.logGroupArn] }),
    );
    acknowledgeNagFindings(role, [
      {
        id: 'AwsSolutions-IAM4',
        reason:
          'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager access, which replaces SSH.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore'],
      },
    ]);

    const userData = ec2.UserData.forLinux();
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage,
      userData,
      role,
      securityGroup: instanceSecurityGroup,
      httpEndpoint: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(16, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    this.launchTemplate = launchTemplate;

    const keptInService = Math.min(desiredCapacity ?? minCapacity, maxCapacity - 1);
    if (keptInService < (desiredCapacity ?? minCapacity)) {
      Annotations.of(this).addWarningV2(
        `${WARNING_PREFIX}:rollingUpdateCapacity`,
        `maxCapacity ${maxCapacity} leaves no room to start a new instance before stopping an old one: ` +
          `rolling updates will run with ${keptInService} instance(s) in service. Raise maxCapacity above ${desiredCapacity ?? minCapacity}.`,
      );
    }
    const asg = new autoscaling.AutoScalingGroup(this, 'AutoScalingGroup', {
      vpc: props.vpc,
      vpcSubnets: subnetSelection,
      launchTemplate,
      minCapacity,
      maxCapacity,
      desiredCapacity,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.minutes(10),
      }),
      signals: autoscaling.Signals.waitForAll({ timeout: Duration.minutes(15) }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: keptInService,
      }),
      defaultInstanceWarmup: Duration.minutes(5),
    });
    this.autoScalingGroup = asg;
    acknowledgeNagFindings(asg, [
      {
        id: 'AwsSolutions-AS3',
        reason:
          'Instance health is watched through the target group metrics and the optional alarms; scaling events are in EventBridge.',
      },
    ]);
    asg.scaleOnCpuUtilization('CpuScaling', { targetUtilizationPercent: cpuTarget });

    const cfnAsg = asg.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const host = buildProxyHostInit(this, {
      squidFiles,
      port: this.port,
      workers,
      maxFileDescriptors: squid.maxFileDescriptors,
      logGroupName: logGroup.logGroupName,
      resource: cfnAsg,
    });
    // Only what `reload` cannot re-apply goes into the user data; allowlist changes leave the
    // launch template alone and reach the instances through cfn-hup.
    userData.addCommands(`# egress-proxy host set-up ${host.fingerprint}`);
    host.init.attach(cfnAsg, {
      platform: ec2.OperatingSystemType.LINUX,
      instanceRole: role,
      userData,
      configSets: [INSTALL_CONFIG_SET],
      embedFingerprint: false,
      printLog: true,
    });
    if (host.usesAssets) {
      acknowledgeNagFindings(role.node.findChild('DefaultPolicy'), [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'cfn-init downloads large allowlists from the CDK asset bucket. The read-only grant covers that bucket so it stays the same when the allowlist changes, and an allowlist reload never waits for an IAM change to propagate.',
          appliesTo: [
            { regex: '/^Action::s3:(GetBucket|GetObject|List)\\*$/' },
            { regex: '/^Resource::arn:<AWS::Partition>:s3:::cdk-[^/]*-assets-[^/]*\\/\\*$/' },
          ],
        },
      ]);
    }

    // ---- load balancer ------------------------------------------------------------------------
    const targetGroup = new elbv2.NetworkTargetGroup(this, 'TargetGroup', {
      vpc: props.vpc,
      port: this.port,
      protocol: elbv2.Protocol.TCP,
      targetType: elbv2.TargetType.INSTANCE,
      proxyProtocolV2: proxyProtocol,
      // The load balancer's own address is the peer; the client travels in PROXY protocol.
      preserveClientIp: false,
      deregistrationDelay,
      healthCheck: {
        enabled: true,
        protocol: elbv2.Protocol.TCP,
        port: 'traffic-port',
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
      targets: [asg],
    });
    this.targetGroup = targetGroup;

    const loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      vpcSubnets: lbSelection,
      internetFacing: false,
      crossZoneEnabled: true,
      securityGroups: [lbSecurityGroup],
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
    });
    this.loadBalancer = loadBalancer;
    acknowledgeNagFindings(loadBalancer, [
      {
        id: 'AwsSolutions-ELB2',
        reason:
          'NLB access logs cover TLS listeners only; this TCP listener is logged by Squid itself, request by request.',
      },
    ]);
    this.listener = loadBalancer.addListener('Listener', {
      port: this.port,
      protocol: elbv2.Protocol.TCP,
      defaultTargetGroups: [targetGroup],
      tcpIdleTimeout: idleTimeout,
    });

    // ---- endpoint service -----------------------------------------------------------------------
    const principals = [
      ...(props.allowedPrincipals ?? []),
      ...(props.allowedAccounts ?? []).map((a) => new iam.ArnPrincipal(`arn:${stack.partition}:iam::${a}:root`)),
    ];
    if (props.allowedPrincipals === undefined && props.allowedAccounts === undefined) {
      principals.push(new iam.ArnPrincipal(`arn:${stack.partition}:iam::${stack.account}:root`));
    }
    this.endpointService = new ec2.VpcEndpointService(this, 'EndpointService', {
      vpcEndpointServiceLoadBalancers: [loadBalancer],
      acceptanceRequired: props.acceptanceRequired ?? true,
      allowedPrincipals: principals,
      allowedRegions: props.allowedRegions,
    });
    this.endpointServiceName = this.endpointService.vpcEndpointServiceName;
    if (props.serviceNameParameterName !== undefined) {
      this.serviceNameParameter = new ssm.StringParameter(this, 'ServiceNameParameter', {
        parameterName: props.serviceNameParameterName,
        stringValue: this.endpointServiceName,
        description: 'Service name of the egress proxy VPC endpoint service',
      });
    }

    // ---- alarms -----------------------------------------------------------------------------------
    if (props.alarmAction) {
      const unhealthy = this.metricUnhealthyHosts({ period: Duration.minutes(1) }).createAlarm(
        this,
        'UnhealthyHostsAlarm',
        {
          alarmDescription: 'Egress proxy instances fail the load balancer health check',
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
      unhealthy.addAlarmAction(props.alarmAction);
      this.unhealthyHostsAlarm = unhealthy;
      const denied = this.metricDeniedRequests({ period: Duration.minutes(5) }).createAlarm(
        this,
        'DeniedRequestsAlarm',
        {
          alarmDescription: `More than ${alarmThreshold} requests denied by the egress policy in five minutes`,
          threshold: alarmThreshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
      denied.addAlarmAction(props.alarmAction);
      this.deniedRequestsAlarm = denied;
      const reload = this.metricReloadFailures({ period: Duration.minutes(5) }).createAlarm(
        this,
        'ReloadFailuresAlarm',
        {
          alarmDescription:
            'An egress proxy instance rejected a new configuration (squid -k parse) and kept the old one',
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
      reload.addAlarmAction(props.alarmAction);
      this.reloadFailuresAlarm = reload;
    }
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
}

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
