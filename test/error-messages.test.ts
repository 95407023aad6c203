/**
 * Bad input fails at synth time with an error that starts `Invalid <prop>`, where `<prop>` is
 * the name the user set, spelled as API.md spells it (checked against the jsii assembly).
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import {
  AwsEndpoints,
  AwsService,
  ClientSettings,
  EgressPolicy,
  EgressProxyEndpoint,
  EgressProxyProvider,
  EgressProxyService,
  PrivateEgressProxy,
} from '../src';
import { jsiiType } from './jsii-assembly';

const DOMAINS = ['sts.eu-west-1.amazonaws.com'];
const SERVICE = 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0';

/** The property names of a jsii struct (and of the structs it extends). */
function propsOf(type: string): string[] {
  const t = jsiiType(type);
  return [...t.properties.map((p) => p.name), ...t.parents.flatMap(propsOf)];
}

interface Scene {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
}

const provider = (s: Scene, props: object) =>
  new EgressProxyProvider(s.stack, 'Proxy', {
    vpc: s.vpc,
    policy: new EgressPolicy({ allowedDomains: DOMAINS }),
    ...props,
  });
const endpoint = (s: Scene, props: object) =>
  new EgressProxyEndpoint(s.stack, 'Endpoint', {
    vpc: s.vpc,
    service: EgressProxyService.fromServiceAttributes(s.stack, 'Service', {
      serviceName: SERVICE,
      availabilityZoneIds: ['euw1-az1', 'euw1-az2'],
    }),
    ...props,
  });

const policy = (props: object) => new EgressPolicy({ allowedDomains: DOMAINS, ...props });

/** [the struct the prop belongs to, the prop, a construction that sets it wrongly]. */
const CASES: Array<[string, string, (s: Scene) => unknown]> = [
  ['EgressPolicyProps', 'allowedDomains', () => policy({ allowedDomains: ['example.com/path'] })],
  ['EgressPolicyProps', 'allowedDomains', () => policy({ allowedDomains: [] })],
  ['EgressPolicyProps', 'allowedDomains', () => policy({ allowedDomains: ['*.co.uk'] })],
  ['EgressPolicyProps', 'ports', () => policy({ ports: [0] })],
  ['EgressPolicyProps', 'ports', () => policy({ ports: [] })],
  ['EgressPolicyProps', 'sourceCidrs', () => policy({ sourceCidrs: ['10.0.0.1/8'] })],
  ['EgressPolicyProps', 'allowedEndpointIds', () => policy({ allowedEndpointIds: ['vpce-x'] })],
  ['EgressPolicyProps', 'allowedPrivateCidrs', () => policy({ allowedPrivateCidrs: ['8.8.8.0/24'] })],
  ['EgressPolicyProps', 'mode', () => policy({ mode: 'permissive' })],
  ['EgressProxyProviderProps', 'port', (s) => provider(s, { port: 0 })],
  ['EgressProxyProviderProps', 'minCapacity', (s) => provider(s, { minCapacity: 0 })],
  ['EgressProxyProviderProps', 'desiredCapacity', (s) => provider(s, { desiredCapacity: 9 })],
  ['EgressProxyProviderProps', 'targetCpuUtilizationPercent', (s) => provider(s, { targetCpuUtilizationPercent: 0 })],
  ['EgressProxyProviderProps', 'deregistrationDelay', (s) => provider(s, { deregistrationDelay: Duration.hours(2) })],
  ['EgressProxyProviderProps', 'idleTimeout', (s) => provider(s, { idleTimeout: Duration.seconds(5) })],
  ['EgressProxyProviderProps', 'squidWorkers', (s) => provider(s, { squidWorkers: 0 })],
  ['EgressProxyProviderProps', 'allowedAccounts', (s) => provider(s, { allowedAccounts: ['1'] })],
  ['EgressProxyProviderProps', 'allowedRegions', (s) => provider(s, { allowedRegions: ['x'] })],
  ['EgressProxyProviderProps', 'serviceNameParameterName', (s) => provider(s, { serviceNameParameterName: 'a b' })],
  ['EgressProxyProviderProps', 'ssmParameterPrefix', (s) => provider(s, { ssmParameterPrefix: 'x/' })],
  ['EgressProxyProviderProps', 'deniedRequestsAlarmThreshold', (s) => provider(s, { deniedRequestsAlarmThreshold: 0 })],
  [
    'EgressProxyProviderProps',
    'proxyProtocol',
    (s) =>
      provider(s, {
        policy: new EgressPolicy({ allowedDomains: DOMAINS, sourceCidrs: ['10.0.0.0/8'] }),
        proxyProtocol: false,
      }),
  ],
  [
    'EgressProxyProviderProps',
    'vpcSubnets',
    (s) => provider(s, { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }),
  ],
  ['EgressProxyProviderProps', 'vpcSubnets', (s) => provider(s, { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } })],
  [
    'PrivateEgressProxyProps',
    'dnsName',
    (s) => new PrivateEgressProxy(s.stack, 'E', { vpc: s.vpc, allowedDomains: DOMAINS, dnsName: 'x' }),
  ],
  [
    'PrivateEgressProxyProps',
    'sourceCidrs',
    (s) =>
      new PrivateEgressProxy(s.stack, 'E', { vpc: s.vpc, allowedDomains: DOMAINS, sourceCidrs: [s.vpc.vpcCidrBlock] }),
  ],
  ['EgressProxyEndpointProps', 'allowedCidrs', (s) => endpoint(s, { allowedCidrs: ['10.0.0.1/8'] })],
  ['EgressProxyEndpointProps', 'port', (s) => endpoint(s, { port: 8080 })],
  ['EgressProxyEndpointProps', 'dnsName', (s) => endpoint(s, { dnsName: 'proxy' })],
  ['EgressProxyEndpointProps', 'zoneMappings', (s) => endpoint(s, { zoneMappings: [] })],
  [
    'EgressProxyEndpointProps',
    'subnets',
    (s) =>
      endpoint(s, {
        zoneMappings: [
          { zoneName: 'eu-west-1a', zoneId: 'euw1-az3' },
          { zoneName: 'eu-west-1b', zoneId: 'euw1-az1' },
        ],
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      }),
  ],
  [
    'EgressProxyServiceAttributes',
    'serviceName',
    (s) => EgressProxyService.fromServiceAttributes(s.stack, 'S', { serviceName: 'x' }),
  ],
  [
    'EgressProxyServiceAttributes',
    'availabilityZoneIds',
    (s) =>
      EgressProxyService.fromServiceAttributes(s.stack, 'S', {
        serviceName: SERVICE,
        availabilityZoneIds: ['eu-west-1a'],
      }),
  ],
  [
    'EgressProxyServiceAttributes',
    'region',
    (s) => EgressProxyService.fromServiceAttributes(s.stack, 'S', { serviceName: SERVICE, region: 'us-east-1' }),
  ],
  [
    'EgressProxyServiceParametersOptions',
    'parameterPrefix',
    (s) => EgressProxyService.fromSsmParameters(s.stack, 'S', { parameterPrefix: 'no-slash' }),
  ],
  ['AwsEndpointsOptions', 'services', () => AwsEndpoints.hostnames({ services: [], regions: ['eu-west-1'] })],
  ['AwsEndpointsOptions', 'regions', () => AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['x'] })],
  [
    'AwsEndpointsOptions',
    's3Buckets',
    () => AwsEndpoints.hostnames({ services: [AwsService.S3], regions: ['eu-west-1'], s3Buckets: ['A'] }),
  ],
  [
    'AwsEndpointsOptions',
    'ecrAccountIds',
    () => AwsEndpoints.hostnames({ services: [AwsService.ECR_DKR], regions: ['eu-west-1'], ecrAccountIds: ['1'] }),
  ],
  ['ClientSettingsOptions', 'noProxy', () => ClientSettings.forProxyUrl('http://p:3128', { noProxy: ['10.0.0.0/8'] })],
];

test.each(CASES)('a bad %s.%s fails at synth time, naming the prop', (type, prop, make) => {
  expect(propsOf(type)).toContain(prop);
  const stack = new Stack(new App(), 'Stack', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    natGateways: 1,
    restrictDefaultSecurityGroup: false,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  expect(() => make({ stack, vpc })).toThrow(new RegExp(`^Invalid ${prop}\\b`));
});
