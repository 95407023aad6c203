import { Annotations, CfnResource, Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { SquidConfigFile } from '../squid-config';
import { allowDnsServers } from './dns-servers';
import { acknowledgeNagFindings, acknowledgeTemplateChecks } from './nag';
import { ProviderPlacement } from './provider-placement';
import { ProviderSettings } from './provider-settings';
import { buildProxyHostInit, healthCheckPortFor, INSTALL_CONFIG_SET, writeProxyUserData } from './proxy-host';
import { ProxySizing, sizeProxyInstance } from './sizing';

/** What {@link createFleet} needs. */
export interface FleetOptions {
  readonly vpc: ec2.IVpc;
  readonly placement: ProviderPlacement;
  readonly settings: ProviderSettings;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logGroup: logs.ILogGroup;
  /** The rendered Squid files (contents may hold tokens). */
  readonly squidFiles: SquidConfigFile[];
  /** The instances' connection cap and descriptor limit (`max_filedescriptors` and `LimitNOFILE`). */
  readonly sizing: ProxySizing;
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
 * the subnets' route to the internet exists. CloudFormation::Init sets each instance up. Custom
 * DNS servers get 53/UDP and 53/TCP in the instances' security group.
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
  if (settings.dnsServers) allowDnsServers(options.securityGroup, settings.dnsServers);
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
 * CloudFormation::Init on the group, and the user data that runs its `install` config set at first
 * boot. Only what `reload` cannot re-apply goes into the user data (as a fingerprint), so allowlist
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
    healthCheckPort: healthCheckPortFor(options.settings.port),
    workers: options.settings.squidWorkers,
    maxFileDescriptors: options.sizing.maxFileDescriptors,
    maxConnections: options.sizing.maxConnections,
    logGroupName: options.logGroup.logGroupName,
    resource: cfnAsg,
  });
  // attach() writes the metadata and lets the role describe the stack and signal the group. Its
  // own cfn-init and cfn-signal lines go to a user data that no instance runs: the instances run
  // the first-boot script, which also installs aws-cfn-bootstrap where the image lacks it and
  // sends a failure's reason with the signal.
  host.init.attach(cfnAsg, {
    platform: ec2.OperatingSystemType.LINUX,
    instanceRole: role,
    userData: ec2.UserData.forLinux(),
    configSets: [INSTALL_CONFIG_SET],
    embedFingerprint: false,
  });
  acknowledgeTemplateChecks(cfnAsg, [
    {
      id: 'E3009',
      reason:
        "AWS::CloudFormation::Init commands are argument arrays (cfn-init: 'Either an array or a string'); cfn-lint's schema knows only strings.",
    },
  ]);
  writeProxyUserData(userData, { resource: cfnAsg, fingerprint: host.fingerprint });
  grantAssetReads(cfnAsg, role, host.assets);
  // Instances read the metadata, signal, and download assets with the role's policy: the group
  // (and on an update, its new metadata) comes only after the policy.
  cfnAsg.node.addDependency(role);
}

/**
 * Let cfn-init download the Squid files that travel as S3 assets: the role may read exactly those
 * objects (`s3:GetObject` on each object, nothing else in the asset bucket), and the metadata
 * signs requests to the bucket with the role. The group depends on the role's policy (see
 * {@link attachHostInit}), so on an allowlist change CloudFormation grants the new object before
 * the metadata that names it changes; cfn-hup skips the group while its update is in progress, and retries a failed reload
 * (an IAM change still propagating) at its next poll a minute later.
 */
function grantAssetReads(cfnAsg: CfnResource, role: iam.Role, assets: s3assets.Asset[]): void {
  if (assets.length === 0) return;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: assets.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
    }),
  );
  cfnAsg.addMetadata('AWS::CloudFormation::Authentication', {
    EgressProxyAssets: {
      type: 'S3',
      roleName: role.roleName,
      buckets: [...new Set(assets.map((a) => a.s3BucketName))],
    },
  });
}

/**
 * The connection cap and descriptor limit of the instances, from the instance type's memory
 * (see {@link sizeProxyInstance}); its warnings become synthesis warnings.
 */
export function sizeFleet(
  scope: Construct,
  settings: ProviderSettings,
  maxConnectionsPerInstance: number | undefined,
  warningPrefix: string,
): ProxySizing {
  const sizing = sizeProxyInstance({
    instanceType: settings.instanceType.toString(),
    workers: settings.squidWorkers,
    maxConnectionsPerInstance,
  });
  for (const w of sizing.warnings) Annotations.of(scope).addWarningV2(`${warningPrefix}:${w.id}`, w.message);
  return sizing;
}
