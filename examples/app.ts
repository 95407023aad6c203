/**
 * The example app: (a) the seed article's topology in one account, as one construct, with a
 * build agent in the closed subnets; (b) a provider in account A and a consumer in account B,
 * wired by the provider's published attributes (no cross-stack reference).
 *
 * Synthesising it needs no AWS credentials and no context lookups: every stack names only its
 * Region (`env: { region }`), so zone names resolve at deploy time, except where account B's
 * zone names must be literal to map them to AZ IDs (given on its VPC, which looks nothing up).
 * No stack creates a Lambda function: the VPCs keep CDK's default security group as it is
 * (`restrictDefaultSecurityGroup: false`), because restricting it takes a custom resource.
 */
import { App, CfnOutput, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import {
  AvailabilityZoneMapping,
  AwsEndpoints,
  AwsService,
  EgressPolicy,
  EgressProxyEndpoint,
  EgressProxyProvider,
  EgressProxyService,
  IEgressProxyService,
  PrivateEgressProxy,
} from '../src';

export const REGION = 'eu-west-1';
/** Placeholder account IDs; set PROVIDER_ACCOUNT / CONSUMER_ACCOUNT to your own. */
export const PROVIDER_ACCOUNT = process.env.PROVIDER_ACCOUNT ?? '111111111111';
export const CONSUMER_ACCOUNT = process.env.CONSUMER_ACCOUNT ?? '222222222222';
/** Where the provider publishes its attributes in SSM (account A). */
export const SERVICE_PARAMETER_PREFIX = '/egress-proxy';

/**
 * What account B knows about account A's service: copied from the provider stack's outputs
 * (set PROXY_SERVICE_NAME and PROXY_AZ_IDS, comma-separated), or these placeholders.
 */
export const PROVIDER_SERVICE = {
  serviceName: process.env.PROXY_SERVICE_NAME ?? `com.amazonaws.vpce.${REGION}.vpce-svc-0123456789abcdef0`,
  availabilityZoneIds: (process.env.PROXY_AZ_IDS ?? 'euw1-az1,euw1-az2,euw1-az3').split(','),
};

/**
 * Account B's zone names and AZ IDs (`aws ec2 describe-availability-zones --query
 * 'AvailabilityZones[].[ZoneName,ZoneId]' --output text` in account B; set CONSUMER_ZONE_IDS as
 * `eu-west-1a=euw1-az3,...`). These placeholders map names to other IDs than account A has.
 */
export const CONSUMER_ZONES: AvailabilityZoneMapping[] = (
  process.env.CONSUMER_ZONE_IDS ?? 'eu-west-1a=euw1-az3,eu-west-1b=euw1-az1,eu-west-1c=euw1-az2'
)
  .split(',')
  .map((pair) => {
    const [zoneName, zoneId] = pair.split('=');
    return { zoneName, zoneId };
  });

/**
 * What the clients in the examples may reach: STS, S3 (one bucket), the CloudWatch agent's Logs,
 * and Session Manager (the build agent is reached with Session Manager, through the proxy).
 */
export const ALLOWED = AwsEndpoints.hostnames({
  services: [AwsService.STS, AwsService.S3, AwsService.CLOUDWATCH_LOGS],
  regions: [REGION],
  s3Buckets: ['example-artifacts'],
  sessionManager: true,
});

/**
 * VPC flow logs (accepted and rejected traffic) to CloudWatch Logs: with the proxy's access log,
 * the record of what tried to leave the network by another way.
 */
export function exampleFlowLogs(): { [id: string]: ec2.FlowLogOptions } {
  return {
    FlowLogs: { destination: ec2.FlowLogDestination.toCloudWatchLogs(), trafficType: ec2.FlowLogTrafficType.ALL },
  };
}

/**
 * An instance in the closed subnets whose shells, services and SSM agent go through the proxy:
 * the stand-in for a CI build agent. Reached with Session Manager (through the proxy), no SSH.
 */
export function buildAgent(scope: Construct, vpc: ec2.IVpc): ec2.Instance {
  const agent = new ec2.Instance(scope, 'BuildAgent', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    instanceType: new ec2.InstanceType('t4g.micro'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    requireImdsv2: true,
    ssmSessionPermissions: true,
    detailedMonitoring: true,
    blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true }) }],
  });
  NagSuppressions.addResourceSuppressions(
    agent,
    [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'AmazonSSMManagedInstanceCore is the policy Session Manager and Run Command need on an instance.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore'],
      },
      {
        id: 'AwsSolutions-EC29',
        reason: 'A disposable example build agent: it is meant to be deleted with the stack.',
      },
    ],
    true,
  );
  return agent;
}

/** (a) The seed's topology: proxy subnets with a NAT route, clients in isolated subnets, one call. */
export class SingleAccountStack extends Stack {
  public readonly egress: PrivateEgressProxy;
  /** The build agent in the closed subnets, sent through the proxy. */
  public readonly agent: ec2.Instance;
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 2,
      restrictDefaultSecurityGroup: false,
      flowLogs: exampleFlowLogs(),
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'proxy', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'clients', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    this.egress = new PrivateEgressProxy(this, 'Egress', {
      vpc,
      allowedDomains: ALLOWED,
      consumerSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    this.agent = buildAgent(this, vpc);
    this.egress.endpoint.configureInstance(this.agent);
    new CfnOutput(this, 'ProxyUrl', { value: this.egress.proxyUrl, description: 'HTTPS_PROXY for clients' });
    new CfnOutput(this, 'ExportCommand', {
      value: this.egress.endpoint.clientSettings.exportCommand(),
      description: 'Paste into a shell to send the AWS CLI and SDKs through the proxy',
    });
  }
}

/** (b1) Account A: the proxy, offered to account B, with its attributes in outputs and SSM. */
export class ProviderStack extends Stack {
  public readonly provider: EgressProxyProvider;
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    // Every zone of the Region (eu-west-1 has three), so an endpoint in any of account B's zones
    // is served. By name: a Region-only stack otherwise resolves only two zones at deploy time.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      natGateways: 3,
      restrictDefaultSecurityGroup: false,
      flowLogs: exampleFlowLogs(),
    });
    this.provider = new EgressProxyProvider(this, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: ALLOWED }),
      allowedAccounts: [CONSUMER_ACCOUNT],
      ssmParameterPrefix: SERVICE_PARAMETER_PREFIX,
    });
    // What account B needs, and what account A runs to accept B's endpoint.
    const outputs: Array<[string, string, string]> = [
      ['ServiceName', this.provider.endpointServiceName, 'serviceName for EgressProxyService.fromServiceAttributes'],
      ['Port', String(this.provider.port), 'port'],
      ['Region', this.provider.region, 'region'],
      [
        'AvailabilityZoneIds',
        Fn.join(',', this.provider.availabilityZoneIds ?? []),
        'availabilityZoneIds: account B places its endpoint only in these zones',
      ],
      [
        'AcceptCommand',
        `aws ec2 accept-vpc-endpoint-connections --service-id ${this.provider.endpointService.vpcEndpointServiceId} --vpc-endpoint-ids <account B's vpce-id>`,
        "Run in account A once account B's endpoint is pendingAcceptance",
      ],
    ];
    for (const [name, value, description] of outputs) new CfnOutput(this, name, { value, description });
  }
}

/** Properties of the consumer example. */
export interface ConsumerStackProps extends StackProps {
  /**
   * How account B finds the service.
   * @default - the attributes in PROVIDER_SERVICE (copied from the provider's outputs)
   */
  readonly service?: (scope: Construct) => IEgressProxyService;
}

/** (b2) Account B: a closed VPC whose clients reach AWS only through account A's proxy. */
export class ConsumerStack extends Stack {
  public readonly endpoint: EgressProxyEndpoint;
  /** The build agent in the closed subnets, sent through the proxy. */
  public readonly agent: ec2.Instance;
  constructor(scope: Construct, id: string, props: ConsumerStackProps) {
    super(scope, id, props);
    // All of account B's zones by name (literal, so they can be mapped to AZ IDs; no lookup).
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
      availabilityZones: CONSUMER_ZONES.map((z) => z.zoneName),
      natGateways: 0,
      restrictDefaultSecurityGroup: false,
      flowLogs: exampleFlowLogs(),
      subnetConfiguration: [{ name: 'clients', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const service =
      props.service?.(this) ?? EgressProxyService.fromServiceAttributes(this, 'ProxyService', PROVIDER_SERVICE);
    // The endpoint goes only into the zones whose AZ IDs account A serves.
    this.endpoint = new EgressProxyEndpoint(this, 'Proxy', {
      vpc,
      service,
      zoneMappings: CONSUMER_ZONES,
      dnsName: 'proxy.egress.internal',
      allowedCidrs: ['10.20.0.0/16', '192.168.0.0/16'], // the VPC, and a data centre over VPN
    });
    this.agent = buildAgent(this, vpc);
    this.endpoint.configureInstance(this.agent);
    new CfnOutput(this, 'EndpointId', {
      value: this.endpoint.endpointId,
      description: 'The vpce-id account A accepts',
    });
    new CfnOutput(this, 'ProxyUrl', { value: this.endpoint.proxyUrl, description: 'HTTPS_PROXY for clients' });
  }
}

/** Build every example stack into `app`. */
export function buildExampleApp(app: App): Stack[] {
  return [
    new SingleAccountStack(app, 'EgressProxySingleAccount', { env: { region: REGION } }),
    new ProviderStack(app, 'EgressProxyProvider', { env: { region: REGION } }),
    new ConsumerStack(app, 'EgressProxyConsumer', { env: { region: REGION } }),
  ];
}
