/**
 * The example app: (a) the seed article's topology in one account, as one construct; (b) a
 * provider in account A and a consumer in account B, wired by the endpoint service name.
 * Synthesising it needs no AWS credentials and no context lookups.
 */
import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import {
  AwsEndpoints,
  AwsService,
  EgressPolicy,
  EgressProxyEndpoint,
  EgressProxyProvider,
  EgressProxyService,
  PrivateEgressProxy,
} from '../src';

export const REGION = 'eu-west-1';
export const AZS = ['eu-west-1a', 'eu-west-1b'];
/** Placeholder account IDs; set PROVIDER_ACCOUNT / CONSUMER_ACCOUNT to your own. */
export const PROVIDER_ACCOUNT = process.env.PROVIDER_ACCOUNT ?? '111111111111';
export const CONSUMER_ACCOUNT = process.env.CONSUMER_ACCOUNT ?? '222222222222';
export const SERVICE_NAME_PARAMETER = '/egress-proxy/service-name';

/** What the clients in the examples may reach: STS, S3 (one bucket), SSM, and the CloudWatch agent's Logs. */
export const ALLOWED = AwsEndpoints.hostnames({
  services: [AwsService.STS, AwsService.S3, AwsService.SSM, AwsService.CLOUDWATCH_LOGS],
  regions: [REGION],
  s3Buckets: ['example-artifacts'],
});

/**
 * A stack whose Availability Zones are fixed in code, so synthesis needs no context lookup
 * (CDK's documented way: override `availabilityZones`).
 */
export class ExampleStack extends Stack {
  public get availabilityZones(): string[] {
    return AZS;
  }
}

/**
 * VPC flow logs (accepted and rejected traffic) to CloudWatch Logs: with the proxy's access log,
 * the record of what tried to leave the network by another way.
 */
export function exampleFlowLogs(): { [id: string]: ec2.FlowLogOptions } {
  return {
    FlowLogs: { destination: ec2.FlowLogDestination.toCloudWatchLogs(), trafficType: ec2.FlowLogTrafficType.ALL },
  };
}

/** (a) The seed's topology: proxy subnets with a NAT route, clients in isolated subnets, one call. */
export class SingleAccountStack extends ExampleStack {
  public readonly egress: PrivateEgressProxy;
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 2,
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
  }
}

/** (b1) Account A: the proxy, offered to account B, with its service name in SSM. */
export class ProviderStack extends ExampleStack {
  public readonly provider: EgressProxyProvider;
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 2, flowLogs: exampleFlowLogs() });
    this.provider = new EgressProxyProvider(this, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: ALLOWED }),
      allowedAccounts: [CONSUMER_ACCOUNT],
      serviceNameParameterName: SERVICE_NAME_PARAMETER,
    });
  }
}

/** (b2) Account B: a closed VPC whose clients reach AWS only through account A's proxy. */
export class ConsumerStack extends ExampleStack {
  public readonly endpoint: EgressProxyEndpoint;
  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      flowLogs: exampleFlowLogs(),
      subnetConfiguration: [{ name: 'clients', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    // The service name, copied from account A's parameter into this account's (or paste it in
    // with EgressProxyService.fromServiceName).
    this.endpoint = new EgressProxyEndpoint(this, 'Proxy', {
      vpc,
      service: EgressProxyService.fromSsmParameter(SERVICE_NAME_PARAMETER),
      dnsName: 'proxy.egress.internal',
      allowedCidrs: ['10.20.0.0/16', '192.168.0.0/16'], // the VPC, and a data centre over VPN
    });
  }
}

/** Build every example stack into `app`. */
export function buildExampleApp(app: App): Stack[] {
  return [
    new SingleAccountStack(app, 'EgressProxySingleAccount', { env: { account: PROVIDER_ACCOUNT, region: REGION } }),
    new ProviderStack(app, 'EgressProxyProvider', { env: { account: PROVIDER_ACCOUNT, region: REGION } }),
    new ConsumerStack(app, 'EgressProxyConsumer', { env: { account: CONSUMER_ACCOUNT, region: REGION } }),
  ];
}
