/**
 * Deployable today: nothing the library creates needs a Lambda function (whose runtime AWS
 * deprecates), a custom resource, a launch configuration or a lookup at synth time - with the
 * feature flags a new `cdk init` project has on. The same holds for the example app and the
 * integration-test apps' own stacks; only integ-tests-alpha's assertion stacks have Lambda
 * functions, on a runtime Lambda still supports.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { buildExampleApp } from '../examples/app';
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

/** Lambda runtimes that Lambda supports for creating functions today (2026-12). */
const SUPPORTED_RUNTIMES = ['nodejs22.x', 'nodejs24.x'];

const ALARMS = {
  bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-west-1:111111111111:alarms' }),
} as cloudwatch.IAlarmAction;
const DOMAINS = AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['eu-west-1'], sessionManager: true });

/** An app with the feature flags `cdk init` writes into a new project's cdk.json. */
function newProjectApp(): App {
  return new App({ context: { ...cxapi.CURRENTLY_RECOMMENDED_FLAGS } });
}

/** A VPC with NAT, public and isolated subnets, that does not restrict its default security group (that takes a Lambda). */
function vpcIn(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    restrictDefaultSecurityGroup: false,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
}

/** Every construct of the library, in its default and its fullest configurations. */
const CONFIGURATIONS: Array<[string, (stack: Stack) => void]> = [
  [
    'PrivateEgressProxy with defaults',
    (stack) => new PrivateEgressProxy(stack, 'Egress', { vpc: vpcIn(stack), allowedDomains: DOMAINS }),
  ],
  [
    'PrivateEgressProxy with acceptance, outputs, sources, alarms and an audit policy',
    (stack) => {
      const vpc = vpcIn(stack);
      const egress = new PrivateEgressProxy(stack, 'Egress', {
        vpc,
        policy: new EgressPolicy({ allowedDomains: DOMAINS, sourceCidrs: ['10.0.0.0/8'], mode: EgressMode.AUDIT }),
        consumerSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        providerOptions: { acceptanceRequired: true, alarmAction: ALARMS, allowedAccounts: ['222222222222'] },
        endpointOptions: { outputs: true },
      });
      egress.endpoint.configureInstance(
        new ec2.Instance(stack, 'Client', {
          vpc,
          vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          instanceType: new ec2.InstanceType('t4g.micro'),
          machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
          requireImdsv2: true,
        }),
      );
    },
  ],
  [
    'EgressProxyProvider offered to another account, with SSM attributes, alarms and a 10,000-domain allowlist',
    (stack) =>
      new EgressProxyProvider(stack, 'Proxy', {
        vpc: vpcIn(stack),
        policy: new EgressPolicy({
          allowedDomains: Array.from({ length: 10_000 }, (_, i) => `host-${i}.example.com`),
        }),
        allowedAccounts: ['222222222222'],
        allowedRegions: ['eu-central-1'],
        ssmParameterPrefix: '/egress-proxy',
        serviceNameParameterName: '/other/service-name',
        alarmAction: ALARMS,
      }),
  ],
  [
    'EgressProxyProvider in public subnets',
    (stack) =>
      new EgressProxyProvider(stack, 'Proxy', {
        vpc: vpcIn(stack),
        policy: new EgressPolicy({ allowedDomains: DOMAINS }),
        associatePublicIpAddress: true,
        proxyProtocol: false,
      }),
  ],
  [
    'EgressProxyEndpoint for a service in another account, with a DNS name, outputs and every kind of client',
    (stack) => {
      const vpc = vpcIn(stack);
      const endpoint = new EgressProxyEndpoint(stack, 'Proxy', {
        vpc,
        service: EgressProxyService.fromServiceAttributes(stack, 'Service', {
          serviceName: 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0',
          availabilityZoneIds: ['euw1-az1', 'euw1-az2'],
        }),
        zoneMappings: [
          { zoneName: 'eu-west-1a', zoneId: 'euw1-az1' },
          { zoneName: 'eu-west-1b', zoneId: 'euw1-az2' },
        ],
        dnsName: 'proxy.egress.internal',
        outputs: true,
      });
      const group = new autoscaling.AutoScalingGroup(stack, 'Clients', {
        vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        instanceType: new ec2.InstanceType('t4g.micro'),
        machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      });
      endpoint.configureAutoScalingGroup(group);
      const task = new ecs.FargateTaskDefinition(stack, 'Task');
      endpoint.configureContainer(
        task.addContainer('App', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/x/y') }),
      );
    },
  ],
  [
    'EgressProxyEndpoint reading the service name from SSM',
    (stack) =>
      new EgressProxyEndpoint(stack, 'Proxy', {
        vpc: vpcIn(stack),
        service: EgressProxyService.fromSsmParameters(stack, 'Service', { parameterPrefix: '/egress-proxy' }),
      }),
  ],
];

/** What makes a template undeployable today or synth dependent on credentials. */
function problemsOf(template: any, options: { allowLambda: boolean }): string[] {
  const out: string[] = [];
  for (const [id, r] of Object.entries<any>(template.Resources ?? {})) {
    if (r.Type === 'AWS::Lambda::Function') {
      if (!options.allowLambda) out.push(`${id}: a Lambda function`);
      if (!SUPPORTED_RUNTIMES.includes(r.Properties?.Runtime)) out.push(`${id}: runtime ${r.Properties?.Runtime}`);
    }
    if (!options.allowLambda && (r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')) {
      out.push(`${id}: a custom resource (${r.Type})`);
    }
    if (r.Type === 'AWS::AutoScaling::LaunchConfiguration') out.push(`${id}: a launch configuration`);
  }
  return out;
}

describe.each(CONFIGURATIONS)('%s', (_name, build) => {
  const app = newProjectApp();
  const stack = new Stack(app, 'Stack', { env: { region: 'eu-west-1' } });
  build(stack);
  const assembly = app.synth();

  test('has no Lambda function, custom resource or launch configuration', () => {
    expect(problemsOf(assembly.getStackByName('Stack').template, { allowLambda: false })).toEqual([]);
  });

  test('needs no context lookup', () => {
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });
});

describe('the example app, with the feature flags of a new project', () => {
  const app = newProjectApp();
  const stacks = buildExampleApp(app);
  const assembly = app.synth();

  test.each(stacks.map((s) => s.stackName))(
    '%s has no Lambda function, custom resource or launch configuration',
    (name) => {
      expect(problemsOf(assembly.getStackByName(name).template, { allowLambda: false })).toEqual([]);
    },
  );

  test('needs no context lookup', () => {
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });
});

describe('the integration-test snapshots', () => {
  const testDir = __dirname;
  const snapshots = readdirSync(testDir).filter((f) => /^integ\..*\.ts\.snapshot$/.test(f));

  test('there is one for every integration test', () => {
    const apps = readdirSync(testDir).filter((f) => /^integ\..*\.ts$/.test(f));
    expect(snapshots.sort()).toEqual(apps.map((a) => `${a}.snapshot`).sort());
  });

  describe.each(snapshots)('%s', (snapshot) => {
    const dir = join(testDir, snapshot);
    const manifest = JSON.parse(readFileSync(join(dir, 'integ.json'), 'utf8'));
    const assertionStacks: string[] = Object.values<any>(manifest.testCases).map((c) => c.assertionStackName);
    const templates = readdirSync(dir).filter((f) => f.endsWith('.template.json'));

    test('names its assertion stack, which exists', () => {
      expect(assertionStacks.length).toBeGreaterThan(0);
      for (const s of assertionStacks) expect(existsSync(join(dir, `${s}.template.json`))).toBe(true);
    });

    test.each(templates)('%s has no Lambda function but the assertions, and no deprecated runtime', (file) => {
      const template = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      const isAssertionStack = assertionStacks.includes(file.replace(/\.template\.json$/, ''));
      expect(problemsOf(template, { allowLambda: isAssertionStack })).toEqual([]);
    });
  });
});
