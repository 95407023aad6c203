/**
 * Every `@default` of the main props, as API.md shows it (read from the jsii assembly, `.jsii`,
 * which `npx projen compile` writes and API.md is generated from), is what the constructs do
 * when the prop is left out. A changed default fails here until the documentation says so too.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import {
  AwsEndpoints,
  AwsService,
  EgressMode,
  EgressPolicy,
  EgressProxyEndpoint,
  EgressProxyProvider,
  EgressProxyService,
  PrivateEgressProxy,
} from '../src';
import { jsiiType } from './jsii-assembly';

const DOMAINS = ['sts.eu-west-1.amazonaws.com'];
const ALARMS = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-west-1:111111111111:a' }) } as cloudwatch.IAlarmAction;

/** The documented default of a prop (`@default` text) in the jsii assembly. */
function documentedDefault(type: string, prop: string): string {
  const p = jsiiType(type).properties.find((x: any) => x.name === prop);
  if (p === undefined) throw new Error(`${type}.${prop} is not in the assembly`);
  if (p.docs?.default === undefined) throw new Error(`${type}.${prop} has no @default`);
  return p.docs.default;
}

/** A documented default as a value: `3128`, `true`, `[443]`, `'x'`, `Duration.seconds(60)`, `- \`c7gn.medium\``, `- 4, or …`, enum members. */
function valueOf(doc: string): unknown {
  const duration = /^Duration\.seconds\((\d+)\)$/.exec(doc);
  if (duration) return Number(duration[1]);
  if (doc === 'logs.RetentionDays.THREE_MONTHS') return logs.RetentionDays.THREE_MONTHS;
  if (doc === 'EgressMode.ENFORCE') return EgressMode.ENFORCE;
  const code = /^- `([^`]+)`/.exec(doc);
  if (code) return code[1];
  // "- 4, or `minCapacity` when that is larger": the plain default is the leading number.
  const lead = /^- (\d+),/.exec(doc);
  if (lead) return Number(lead[1]);
  return JSON.parse(doc.replace(/'/g, '"'));
}

function twoZoneVpc(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, restrictDefaultSecurityGroup: false });
}

function providerTemplate(): Template {
  const stack = new Stack(new App(), 'Provider', { env: { region: 'eu-west-1' } });
  new EgressProxyProvider(stack, 'Proxy', {
    vpc: twoZoneVpc(stack),
    policy: new EgressPolicy({ allowedDomains: DOMAINS }),
    alarmAction: ALARMS,
  });
  return Template.fromStack(stack);
}

function l3(): { egress: PrivateEgressProxy; template: Template } {
  const stack = new Stack(new App(), 'Egress', { env: { region: 'eu-west-1' } });
  const egress = new PrivateEgressProxy(stack, 'Egress', { vpc: twoZoneVpc(stack), allowedDomains: DOMAINS });
  return { egress, template: Template.fromStack(stack) };
}

/** The one resource of a type's properties. */
function only(template: Template, type: string): any {
  const found = Object.values(template.findResources(type));
  expect(found).toHaveLength(1);
  return (found[0] as any).Properties;
}

function attribute(props: any, key: string): string | undefined {
  return (props.TargetGroupAttributes ?? props.LoadBalancerAttributes ?? []).find((a: any) => a.Key === key)?.Value;
}

const provider = providerTemplate();
const single = l3();

/** [type, prop, what the construct does when the prop is left out]. */
const OBSERVED: Array<[string, string, () => unknown]> = [
  ['EgressProxyProviderOptions', 'port', () => only(provider, 'AWS::ElasticLoadBalancingV2::Listener').Port],
  [
    'EgressProxyProviderOptions',
    'minCapacity',
    () => Number(only(provider, 'AWS::AutoScaling::AutoScalingGroup').MinSize),
  ],
  [
    'EgressProxyProviderOptions',
    'maxCapacity',
    () => Number(only(provider, 'AWS::AutoScaling::AutoScalingGroup').MaxSize),
  ],
  [
    'EgressProxyProviderOptions',
    'targetCpuUtilizationPercent',
    () => only(provider, 'AWS::AutoScaling::ScalingPolicy').TargetTrackingConfiguration.TargetValue,
  ],
  [
    'EgressProxyProviderOptions',
    'deregistrationDelay',
    () =>
      Number(
        attribute(only(provider, 'AWS::ElasticLoadBalancingV2::TargetGroup'), 'deregistration_delay.timeout_seconds'),
      ),
  ],
  [
    'EgressProxyProviderOptions',
    'proxyProtocol',
    () => attribute(only(provider, 'AWS::ElasticLoadBalancingV2::TargetGroup'), 'proxy_protocol_v2.enabled') === 'true',
  ],
  [
    'EgressProxyProviderOptions',
    'idleTimeout',
    () =>
      Number(
        only(provider, 'AWS::ElasticLoadBalancingV2::Listener').ListenerAttributes.find(
          (a: any) => a.Key === 'tcp.idle_timeout.seconds',
        ).Value,
      ),
  ],
  [
    'EgressProxyProviderOptions',
    'acceptanceRequired',
    () => only(provider, 'AWS::EC2::VPCEndpointService').AcceptanceRequired,
  ],
  ['EgressProxyProviderOptions', 'logRetention', () => only(provider, 'AWS::Logs::LogGroup').RetentionInDays],
  [
    'EgressProxyProviderOptions',
    'deniedRequestsAlarmThreshold',
    () =>
      Object.values<any>(provider.findResources('AWS::CloudWatch::Alarm')).find(
        (a) => a.Properties.MetricName === 'DeniedRequests',
      )?.Properties.Threshold,
  ],
  [
    'EgressProxyProviderOptions',
    'instanceType',
    () => only(provider, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.InstanceType,
  ],
  [
    'EgressProxyProviderOptions',
    'associatePublicIpAddress',
    () =>
      (only(provider, 'AWS::EC2::LaunchTemplate').LaunchTemplateData.NetworkInterfaces ?? []).some(
        (n: any) => n.AssociatePublicIpAddress === true,
      ),
  ],
  ['PrivateEgressProxyProps', 'port', () => single.egress.provider.port],
  [
    'PrivateEgressProxyProps',
    'minCapacity',
    () => Number(only(single.template, 'AWS::AutoScaling::AutoScalingGroup').MinSize),
  ],
  [
    'PrivateEgressProxyProps',
    'maxCapacity',
    () => Number(only(single.template, 'AWS::AutoScaling::AutoScalingGroup').MaxSize),
  ],
  [
    'PrivateEgressProxyProps',
    'dnsName',
    () => only(single.template, 'AWS::Route53::RecordSet').Name.replace(/\.$/, ''),
  ],
  ['EgressProxyEndpointOptions', 'outputs', () => Object.keys(single.template.findOutputs('*')).length > 0],
  ['EgressPolicyProps', 'ports', () => new EgressPolicy({ allowedDomains: DOMAINS }).ports],
  ['EgressPolicyProps', 'allowPlainHttp', () => new EgressPolicy({ allowedDomains: DOMAINS }).allowPlainHttp],
  ['EgressPolicyProps', 'mode', () => new EgressPolicy({ allowedDomains: DOMAINS }).mode],
  [
    'EgressProxyServiceAttributes',
    'port',
    () =>
      EgressProxyService.fromServiceAttributes(new Stack(), 'S', {
        serviceName: 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0',
      }).port,
  ],
];

/** Boolean options whose default `false` must give the same result as leaving them out. */
const AWS_ENDPOINTS_FLAGS = ['fips', 'dualStack', 'sessionManager'] as const;

describe('documented defaults match what the constructs do', () => {
  test.each(OBSERVED)('%s.%s', (type, prop, observe) => {
    expect(observe()).toEqual(valueOf(documentedDefault(type, prop)));
  });

  test.each(AWS_ENDPOINTS_FLAGS)('AwsEndpointsOptions.%s', (flag) => {
    const doc = documentedDefault('AwsEndpointsOptions', flag);
    const base = { services: [AwsService.STS], regions: ['eu-west-1'] };
    expect(AwsEndpoints.hostnames(base)).toEqual(AwsEndpoints.hostnames({ ...base, [flag]: valueOf(doc) }));
    expect(AwsEndpoints.hostnames(base)).not.toEqual(AwsEndpoints.hostnames({ ...base, [flag]: !valueOf(doc) }));
  });

  test('PrivateEgressProxyProps.providerOptions: acceptanceRequired is false, as documented', () => {
    expect(documentedDefault('PrivateEgressProxyProps', 'providerOptions')).toContain('`acceptanceRequired: false`');
    expect(only(single.template, 'AWS::EC2::VPCEndpointService').AcceptanceRequired).toBe(false);
  });

  test('EgressProxyProviderOptions.allowSingleAz: false, so one zone fails', () => {
    expect(valueOf(documentedDefault('EgressProxyProviderOptions', 'allowSingleAz'))).toBe(false);
    const stack = new Stack(new App(), 'OneZone', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 1, restrictDefaultSecurityGroup: false });
    expect(
      () => new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy({ allowedDomains: DOMAINS }) }),
    ).toThrow(/allowSingleAz: true/);
  });

  test('EgressProxyEndpointOptions.port: the service port', () => {
    expect(documentedDefault('EgressProxyEndpointOptions', 'port')).toBe("- the service's port");
    const stack = new Stack(new App(), 'Consumer', { env: { region: 'eu-west-1' } });
    const endpoint = new EgressProxyEndpoint(stack, 'Proxy', {
      vpc: twoZoneVpc(stack),
      service: EgressProxyService.fromServiceAttributes(stack, 'S', {
        serviceName: 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0',
        port: 8080,
      }),
    });
    expect(endpoint.port).toBe(8080);
  });
});
