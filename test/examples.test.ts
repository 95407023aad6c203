import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildExampleApp, ConsumerStack, ProviderStack, SingleAccountStack } from '../examples/app';

/** The example app, synthesised once with cdk-nag's AwsSolutions checks over every stack. */
function exampleApp() {
  const app = new App();
  const stacks = buildExampleApp(app);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const assembly = app.synth();
  return { app, stacks, assembly };
}

const { stacks, assembly } = exampleApp();

test('builds the single-account, provider and consumer stacks', () => {
  expect(stacks.map((s) => s.constructor)).toEqual([SingleAccountStack, ProviderStack, ConsumerStack]);
  expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(
    ['EgressProxyConsumer', 'EgressProxyProvider', 'EgressProxySingleAccount'].sort(),
  );
});

test('needs no context lookups', () => {
  expect(assembly.manifest.missing ?? []).toEqual([]);
});

test.each(stacks.map((s) => [s.stackName, s] as [string, Stack]))(
  'cdk-nag AwsSolutions reports nothing unacknowledged in %s',
  (_name, stack) => {
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 200)}`);
    expect(findings).toEqual([]);
  },
);

test.each(stacks.map((s) => [s.stackName, s] as [string, Stack]))('every VPC of %s has flow logs', (_name, stack) => {
  const template = Template.fromStack(stack);
  const vpcs = Object.keys(template.findResources('AWS::EC2::VPC'));
  expect(vpcs.length).toBeGreaterThan(0);
  for (const vpc of vpcs) {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceId: { Ref: vpc },
      ResourceType: 'VPC',
      TrafficType: 'ALL',
    });
  }
});

test('the single-account stack runs the fleet from a launch template, with no launch configuration', () => {
  const template = Template.fromStack(stacks[0]);
  template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
  template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { LaunchTemplate: Match.objectLike({}) });
});

test("the single-account stack's clients reach the proxy from the isolated subnets", () => {
  Template.fromStack(stacks[0]).hasResourceProperties('AWS::EC2::VPCEndpoint', {
    SubnetIds: [
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet1') },
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet2') },
    ],
  });
});

test('the provider stack offers the service to the consumer account and publishes its name in SSM', () => {
  const template = Template.fromStack(stacks[1]);
  template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
  template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
    AllowedPrincipals: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] }],
  });
  template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/egress-proxy/service-name' });
});

test('the consumer stack reads the service name from SSM and admits the VPC and the VPN range', () => {
  const template = Template.fromStack(stacks[2]);
  template.hasParameter('*', { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/egress-proxy/service-name' });
  template.hasResourceProperties('AWS::EC2::SecurityGroup', {
    GroupDescription: 'Clients of the egress proxy endpoint',
    SecurityGroupIngress: [
      Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 3128 }),
      Match.objectLike({ CidrIp: '192.168.0.0/16', FromPort: 3128 }),
    ],
  });
});
