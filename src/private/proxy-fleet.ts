import { Annotations, Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SquidConfigFile } from '../squid-config';
import { acknowledgeNagFindings } from './nag';
import { ProviderPlacement } from './provider-placement';
import { ProviderSettings } from './provider-settings';
import { buildProxyHostInit, INSTALL_CONFIG_SET } from './proxy-host';

/** What {@link createFleet} needs. */
export interface FleetOptions {
  readonly vpc: ec2.IVpc;
  readonly placement: ProviderPlacement;
  readonly settings: ProviderSettings;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logGroup: logs.ILogGroup;
  /** The rendered Squid files (contents may hold tokens). */
  readonly squidFiles: SquidConfigFile[];
  /** `max_filedescriptors` of the rendered configuration: the Squid service's `LimitNOFILE`. */
  readonly maxFileDescriptors: number;
  readonly warningPrefix: string;
}

/** The Squid fleet. */
export interface ProxyFleet {
  readonly role: iam.Role;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
}

/**
 * The instances: a role for Session Manager and the CloudWatch agent, a launch template (IMDSv2
 * only with hop limit 1, encrypted gp3, no key pair), and an Auto Scaling group that waits for
 * every instance's signal, replaces instances one at a time, scales on CPU, and starts only once
 * the subnets' route to the internet exists. CloudFormation::Init sets each instance up.
 */
export function createFleet(scope: Construct, options: FleetOptions): ProxyFleet {
  const { settings, placement } = options;
  const role = createRole(scope, options.logGroup);
  const userData = ec2.UserData.forLinux();
  const launchTemplate = createLaunchTemplate(scope, options, role, userData);

  const desired = settings.desiredCapacity ?? settings.minCapacity;
  const keptInService = Math.min(desired, settings.maxCapacity - 1);
  if (keptInService < desired) {
    Annotations.of(scope).addWarningV2(
      `${options.warningPrefix}:rollingUpdateCapacity`,
      `maxCapacity ${settings.maxCapacity} leaves no room to start a new instance before stopping an old one: ` +
        `rolling updates will run with ${keptInService} instance(s) in service. Raise maxCapacity above ${desired}.`,
    );
  }
  const asg = new autoscaling.AutoScalingGroup(scope, 'AutoScalingGroup', {
    vpc: options.vpc,
    vpcSubnets: placement.subnetSelection,
    launchTemplate,
    minCapacity: settings.minCapacity,
    maxCapacity: settings.maxCapacity,
    desiredCapacity: settings.desiredCapacity,
    healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
      additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
      gracePeriod: Duration.minutes(10),
    }),
    signals: autoscaling.Signals.waitForAll({ timeout: Duration.minutes(15) }),
    updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: keptInService }),
    defaultInstanceWarmup: Duration.minutes(5),
  });
  // Instances install packages and reach their allowed destinations at first boot: without the
  // NAT gateway's (or internet gateway's) route they would fail to signal.
  asg.node.defaultChild!.node.addDependency(placement.internetConnectivityEstablished);
  acknowledgeNagFindings(asg, [
    {
      id: 'AwsSolutions-AS3',
      reason:
        'Instance health is watched through the target group metrics and the optional alarms; scaling events are in EventBridge.',
    },
  ]);
  asg.scaleOnCpuUtilization('CpuScaling', { targetUtilizationPercent: settings.targetCpuUtilizationPercent });

  attachHostInit(scope, asg, role, userData, options);
  return { role, launchTemplate, autoScalingGroup: asg };
}

/** IMDSv2 only with hop limit 1, an encrypted gp3 root volume, no key pair (Session Manager instead). */
function createLaunchTemplate(
  scope: Construct,
  options: FleetOptions,
  role: iam.IRole,
  userData: ec2.UserData,
): ec2.LaunchTemplate {
  return new ec2.LaunchTemplate(scope, 'LaunchTemplate', {
    instanceType: options.settings.instanceType,
    machineImage: options.settings.machineImage,
    userData,
    role,
    securityGroup: options.securityGroup,
    associatePublicIpAddress: options.placement.associatePublicIpAddress ? true : undefined,
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
}

function createRole(scope: Construct, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, 'InstanceRole', {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    description: 'Egress proxy instances: Session Manager, cfn-init, CloudWatch agent',
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
  });
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
  return role;
}

/**
 * CloudFormation::Init on the group: the user data runs the `install` config set at first boot;
 * only what `reload` cannot re-apply goes into the user data (as a fingerprint), so allowlist
 * changes leave the launch template alone and reach the instances through cfn-hup.
 */
function attachHostInit(
  scope: Construct,
  asg: autoscaling.AutoScalingGroup,
  role: iam.Role,
  userData: ec2.UserData,
  options: FleetOptions,
): void {
  const cfnAsg = asg.node.defaultChild as autoscaling.CfnAutoScalingGroup;
  const host = buildProxyHostInit(scope, {
    squidFiles: options.squidFiles,
    port: options.settings.port,
    workers: options.settings.squidWorkers,
    maxFileDescriptors: options.maxFileDescriptors,
    logGroupName: options.logGroup.logGroupName,
    resource: cfnAsg,
  });
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
}
